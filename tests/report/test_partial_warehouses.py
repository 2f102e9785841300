"""The CLI on warehouses that are empty, partial or not ours: a clear page or a one-line
error, never a traceback.

Each case is a small DuckDB file with the published marts' exact schemas (copied from the
test warehouse, then emptied, filtered or cut), reported through `python -m pipelines report`
in this process; the pages are opened in the browser too.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main as cli
from tests.report.conftest import Published, open_page

# Tables whose rows carry a time, and that time's column: "a single day" keeps one day of each.
TIME_COLUMNS = {
    "fct_touchpoints": "occurred_at",
    "fct_journey_phases": "entered_at",
    "fct_sessions": "started_at",
    "fct_orders": "created_at",
    "fct_attribution": "order_created_at",
    "fct_support_tickets": "created_at",
    "fct_email_engagement": "campaign_sent_at",
    "fct_email_attributed_orders": "created_at",
    "kpi_awareness_daily": "activity_date",
}
MONTHLY = {
    "kpi_acquisition_by_channel": "activity_month",
    "kpi_conversion_by_channel": "cohort_month",
    "kpi_loyalty": "cohort_month",
    "kpi_retention_cohorts": "cohort_month",
    "fct_phase_transitions": "cohort_month",
}


def craft(
    published: Published,
    target: Path,
    rows: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
    empty: bool = False,
) -> Path:
    """A copy of the published warehouse: `rows` maps a table to the select that fills it
    (`{t}` is the source table), `drop` leaves tables out, `empty` keeps only the schemas."""
    rows = rows or {}
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach '{published.path}' as source (read_only)")
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = 'source' order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            if table in drop:
                continue
            con.execute(f"create schema if not exists {schema}")
            source = f"source.{schema}.{table}"
            select = rows.get(table, "select * from {t}").format(t=source)
            if empty:
                select = f"select * from {source} limit 0"
            con.execute(f"create table {schema}.{table} as {select}")
        con.execute("detach source")
    return target


def report(tmp_path: Path, warehouse: Path, capsys, *extra: str) -> tuple[int, str, str, Path]:
    out = tmp_path / "page.html"
    code = cli(["report", "--warehouse", str(warehouse), "--out", str(out), "--no-image", *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, captured.out, captured.err, out


@pytest.fixture(autouse=True)
def no_run_reports(tmp_path, monkeypatch):
    monkeypatch.setenv("JOURNEY_REPORT_DIR", str(tmp_path / "reports"))


def assert_page_works(browser, out: Path) -> object:
    opened = open_page(browser, out)
    assert opened.console_errors == [] and opened.page_errors == []
    assert opened.requests == [out.resolve().as_uri()]
    charts = opened.page.eval_on_selector_all(
        ".chart", "cs => cs.map(c => c.querySelectorAll('svg').length)"
    )
    assert all(count >= 1 for count in charts)
    return opened.page


def cells(page, metric: str) -> dict[str, str]:
    return dict(
        page.eval_on_selector_all(
            f"#journey-map .cell[data-metric={metric}]",
            "cs => cs.map(c => [c.dataset.phase, c.querySelector('.value').textContent])",
        )
    )


def test_an_empty_warehouse_gives_a_page_that_says_so(published, tmp_path, capsys, browser):
    warehouse = craft(published, tmp_path / "empty.duckdb", empty=True)
    code, _, err, page_path = report(tmp_path, warehouse, capsys)
    assert code == 0 and err == ""
    page = assert_page_works(browser, page_path)
    assert "no touchpoints yet" in page.locator("#no-data").text_content()
    assert page.locator(".chart").count() == 0 and page.locator("#journey-map").count() == 0
    assert "no run report" in page.locator("#run").text_content()


def test_a_warehouse_without_orders(published, tmp_path, capsys, browser):
    warehouse = craft(
        published,
        tmp_path / "no_orders.duckdb",
        rows={
            "fct_orders": "select * from {t} where false",
            "fct_attribution": "select * from {t} where false",
            "fct_email_attributed_orders": "select * from {t} where false",
            "fct_conversion_paths": "select * from {t} where path_outcome = 'non_conversion'",
            "fct_touchpoints": "select * from {t} where touchpoint_type not in "
            "('order', 'order_cancelled', 'referral')",
            "fct_journey_phases": "select * from {t} where phase in ('awareness', 'consideration')",
            "dim_persons": "select * replace (cast(null as timestamp) as first_order_at) from {t}",
        },
    )
    code, _, err, page_path = report(tmp_path, warehouse, capsys)
    assert code == 0 and err == "", err
    page = assert_page_works(browser, page_path)
    empty = page.eval_on_selector_all(
        "[data-empty-chart]", "ns => ns.map(n => n.dataset.emptyChart)"
    )
    assert {"attribution", "time_to_first_order", "paths"} <= set(empty)
    reached = cells(page, "reached")
    assert reached["conversion"] == "0" and reached["loyalty"] == "0"
    assert int(reached["awareness"].replace(",", "")) > 0


def test_a_phase_nobody_is_in_keeps_its_column(published, tmp_path, capsys, browser):
    warehouse = craft(
        published,
        tmp_path / "no_retention.duckdb",
        rows={
            "fct_journey_phases": "select * from {t} where phase <> 'retention'",
            "fct_touchpoints": "select * from {t} where phase is distinct from 'retention'",
            "fct_support_tickets": "select * from {t} where phase_at_ticket is distinct from 'retention'",
        },
    )
    code, _, err, page_path = report(tmp_path, warehouse, capsys)
    assert code == 0 and err == ""
    page = assert_page_works(browser, page_path)
    column = page.locator("#journey-map .phase[data-phase=retention]")
    assert column.count() == 1
    assert cells(page, "reached")["retention"] == "0"
    assert "none in the period" in column.text_content()


def test_a_single_day_of_data(published, tmp_path, capsys, browser):
    last = published.query("select max(occurred_at)::date as d from marts.fct_touchpoints")["d"][0]
    rows = {
        t: f"select * from {{t}} where cast({c} as date) = date '{last}'"
        for t, c in TIME_COLUMNS.items()
    }
    rows |= {
        t: f"select * from {{t}} where {c} = date '{last.replace(day=1)}'"
        for t, c in MONTHLY.items()
    }
    warehouse = craft(published, tmp_path / "one_day.duckdb", rows=rows)
    code, out, err, page_path = report(tmp_path, warehouse, capsys)
    assert code == 0 and err == ""
    assert f"{last}" in out  # the period ends at the data's only day
    page = assert_page_works(browser, page_path)
    deltas = page.eval_on_selector_all(
        "#journey-map .cell[data-metric=reached] .delta", "ds => ds.map(d => d.textContent)"
    )
    assert deltas and all(d in ("new", "no comparison", "no data") for d in deltas), deltas


def test_missing_marts_and_columns_are_named_on_the_page(published, tmp_path, capsys, browser):
    warehouse = craft(
        published,
        tmp_path / "partial.duckdb",
        rows={"kpi_awareness_daily": "select * rename (sessions as session_count) from {t}"},
        drop=("fct_attribution", "kpi_loyalty", "dim_journey_phases"),
    )
    code, out, err, page_path = report(tmp_path, warehouse, capsys)
    assert code == 0 and err == ""
    assert "marts.fct_attribution is not in the warehouse" in out
    page = assert_page_works(browser, page_path)
    notes = page.locator("header .notes").text_content()
    assert "marts.fct_attribution is not in the warehouse" in notes
    assert "marts.kpi_loyalty is not in the warehouse" in notes
    assert "marts.kpi_awareness_daily has no column sessions" in notes
    assert "marts.dim_journey_phases is not in the warehouse" in notes
    assert (
        "Not shown: marts.fct_attribution"
        in page.locator("[data-empty-chart=attribution]").text_content()
    )
    metrics = set(
        page.eval_on_selector_all("#journey-map .cell", "cs => cs.map(c => c.dataset.metric)")
    )
    assert "sessions" not in metrics and "repeat_customer_rate" not in metrics
    assert "new_visitors" in metrics  # the rest of the mart still shows


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing_file", "no published warehouse at"),
        ("not_duckdb", "cannot open"),
        ("no_spells", "marts.fct_journey_phases is not in the warehouse"),
        ("bad_period", "before it starts"),
        ("unknown_person", "no person p_nobody"),
    ],
)
def test_what_cannot_be_reported_is_one_line(published, tmp_path, capsys, setup, message):
    warehouse, extra = tmp_path / "journey.duckdb", ()
    if setup == "not_duckdb":
        warehouse.write_text("this is not a database\n")
    elif setup == "no_spells":
        craft(published, warehouse, drop=("fct_journey_phases",))
    elif setup == "bad_period":
        craft(published, warehouse)
        extra = ("--from", "2026-09-30", "--to", "2026-09-01")
    elif setup == "unknown_person":
        craft(published, warehouse)
        extra = ("--person", "p_nobody")
    code, out, err, page_path = report(tmp_path, warehouse, capsys, *extra)
    assert code == 2 and out == "" and not page_path.exists()
    assert err.count("\n") == 1 and err.startswith("report: ") and message in err, err
