"""The journey report of a real warehouse, opened in a real headless Chromium.

The CLI writes the report of the published warehouse (400 generated persons); the page must
load from disk with no console error and no network request, draw every chart, show one map
column per configured phase, and every number in the map must equal what the marts say
(computed independently in `oracle.py`).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from pipelines.cli import main as cli
from pipelines.settings import Settings
from tests.report.conftest import Published, open_page
from tests.report.oracle import (
    KPI_SQL,
    default_period,
    kpi_value,
    phase_figures,
    shown_value,
)

CHARTS = {
    "transitions",
    "funnels",
    "time_to_first_order",
    "paths",
    "attribution",
    "tickets",
    "satisfaction",
    "repurchase",
}


@pytest.fixture(scope="module")
def report(published: Published, tmp_path_factory, monkeypatch_module) -> dict:
    out = tmp_path_factory.mktemp("report") / "journey_report.html"
    before = hashlib.sha256(published.path.read_bytes()).hexdigest()
    code = cli(["report", "--warehouse", str(published.path), "--out", str(out)])
    after = hashlib.sha256(published.path.read_bytes()).hexdigest()
    return {"code": code, "out": out, "unchanged": before == after}


@pytest.fixture(scope="module")
def monkeypatch_module(tmp_path_factory):
    """Run reports are looked for in an empty folder: these pages have no run facts."""
    patch = pytest.MonkeyPatch()
    patch.setenv("JOURNEY_REPORT_DIR", str(tmp_path_factory.mktemp("no_run_reports")))
    yield patch
    patch.undo()


@pytest.fixture(scope="module")
def page(report, browser):
    opened = open_page(browser, report["out"])
    yield opened
    opened.page.close()


def test_the_cli_writes_one_self_contained_file_and_a_map_image(report):
    assert report["code"] == 0
    assert report["unchanged"], "the report must open the warehouse read-only"
    html = report["out"].read_text()
    # every script and style inlined: no tag loads anything (Plotly's bundle names a CDN for
    # map tiles and icons, which no chart of the report uses; the browser test checks requests)
    assert re.findall(r"<(?:script|link|img|iframe|object)\b[^>]*\b(?:src|href)\s*=", html) == []
    image = report["out"].with_suffix(".map.png")
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.stat().st_size > 50_000


def test_the_page_loads_offline_without_errors(page, report):
    assert page.console_errors == [] and page.page_errors == []
    assert page.requests == [Path(report["out"]).resolve().as_uri()]


def test_every_chart_renders(page):
    names = page.page.eval_on_selector_all(".chart", "charts => charts.map(c => c.dataset.chart)")
    empty = page.page.eval_on_selector_all(
        "[data-empty-chart]", "notes => notes.map(n => n.dataset.emptyChart)"
    )
    assert set(names) | set(empty) == CHARTS and not set(names) & set(empty)
    # the default period of this dataset has data for every chart
    assert sorted(names) == sorted(CHARTS), empty
    svg_per_chart = page.page.eval_on_selector_all(
        ".chart", "charts => charts.map(c => c.querySelectorAll('svg, canvas').length)"
    )
    assert all(count >= 1 for count in svg_per_chart), svg_per_chart
    # a Sankey draws its links, a bar chart its bars
    assert page.page.locator("[data-chart=transitions] .sankey-link").count() >= 3
    assert page.page.locator("[data-chart=attribution] .point").count() >= 7


def test_one_map_column_per_configured_phase_in_order(page, published: Published):
    phases = published.query(
        "select phase, label from marts.dim_journey_phases order by phase_rank"
    )
    columns = page.page.eval_on_selector_all(
        "#journey-map .phase", "cols => cols.map(c => [c.dataset.phase, c.querySelector('header').firstChild.textContent])"
    )  # fmt: skip
    assert columns == [list(row) for row in phases.iter_rows()]


def test_every_number_in_the_map_equals_the_warehouse(page, published: Published):
    first, last = default_period(published)
    expected = phase_figures(published, first, last)
    cells = page.page.eval_on_selector_all(
        "#journey-map .cell",
        """cells => cells.map(c => ({phase: c.dataset.phase, metric: c.dataset.metric,
            value: c.dataset.value, shown: c.querySelector('.value').textContent}))""",
    )
    checked = 0
    for cell in cells:
        phase, metric = cell["phase"], cell["metric"]
        if metric in KPI_SQL:
            truth = kpi_value(published, metric, first, last)
        elif metric == "nps":
            truth = expected.get(("*", "nps"))
        else:
            truth = expected.get((phase, metric))
        shown, tolerance = shown_value(cell["shown"])
        if truth is None:
            assert shown is None and cell["value"] == "", cell
            continue
        assert shown is not None, (cell, truth)
        assert abs(shown - truth) <= tolerance + 1e-9, (cell, truth)
        assert abs(float(cell["value"]) - truth) <= 1e-9 * max(1.0, abs(truth)), (cell, truth)
        checked += 1
    metrics = {cell["metric"] for cell in cells}
    assert {"reached", "moved_on_rate", "dropoff_rate", "median_days", "csat"} <= metrics
    assert set(KPI_SQL) <= metrics  # every KPI of the registry has a home in the default model
    assert checked >= 50, checked


def test_cell_colours_follow_the_change_against_the_previous_period(page):
    cells = page.page.eval_on_selector_all(
        "#journey-map .cell[data-metric=reached]",
        """cells => cells.map(c => ({value: +c.dataset.value, previous: +c.dataset.previous,
            css: c.className, delta: c.querySelector('.delta').textContent}))""",
    )
    for cell in cells:
        change = cell["value"] / cell["previous"] - 1 if cell["previous"] else None
        if change is None:
            continue
        assert cell["delta"] == f"{100 * change:+.0f} %"
        expected = "better" if change >= 0.02 else "worse" if change <= -0.02 else "flat"
        assert expected in cell["css"].split(), cell


def test_every_figure_names_its_source(page):
    captions = page.page.eval_on_selector_all("figure figcaption", "f => f.map(x => x.textContent)")
    assert len(captions) == len(CHARTS) and all("Source: marts." in c for c in captions)
    titles = page.page.eval_on_selector_all("#journey-map .cell", "c => c.map(x => x.title)")
    assert titles and all("Source: marts." in t for t in titles)


def test_a_chosen_period_is_written_beside_the_nightly_report(
    published, capsys, monkeypatch_module
):
    arguments = ["--from", "2026-07-01", "--to", "2026-09-30", "--no-image"]
    assert cli(["report", "--warehouse", str(published.path), *arguments]) == 0
    out = Settings.from_env().report_dir / "journey_report_2026-07-01_2026-09-30.html"
    assert f"journey report for 2026-07-01 – 2026-09-30: {out}" in capsys.readouterr().out
    html = out.read_text()
    assert "compared with the previous 92 days 2026-03-31 – 2026-06-30" in html
    assert "first-touch cohort months Jul 2026 – Sep 2026 vs Apr 2026 – Jun 2026" in html
    assert not out.with_suffix(".map.png").exists()


def test_one_persons_journey(published: Published, browser, tmp_path, monkeypatch_module):
    """`--person`: the timeline renders, and the page lists exactly the person's touchpoints,
    phase spells, identifiers and the identity links between them."""
    person = published.query(
        """
        select person_id from marts.fct_touchpoints where person_id is not null
        group by person_id order by count(distinct source) desc, count(*), person_id limit 1
        """
    )["person_id"][0]
    out = tmp_path / "person.html"
    assert (
        cli(["report", "--warehouse", str(published.path), "--out", str(out), "--person", person])
        == 0
    )
    opened = open_page(browser, out)
    assert opened.console_errors == [] and opened.page_errors == []
    assert opened.requests == [out.resolve().as_uri()]
    page = opened.page
    assert page.locator("[data-chart=person_timeline] svg.main-svg").count() >= 1

    def rows(section: str) -> int:
        return page.locator(f"#{section} table tbody tr").count()

    expected = published.query(
        """
        select
            (select count(*) from marts.fct_touchpoints where person_id = $p) as touchpoints,
            (select count(*) from marts.fct_journey_phases where person_id = $p) as spells,
            (select count(*) from identity.identity_map where person_id = $p) as identifiers,
            (select count(*) from identity.identity_edges as e join identity.identity_map as m
                on e.left_kind = m.identifier_kind and e.left_value = m.identifier_value
             where m.person_id = $p) as edges,
            (select count(distinct source) from marts.fct_touchpoints where person_id = $p) as sources
        """,
        {"p": person},
    ).row(0, named=True)
    assert expected["sources"] >= 3 and expected["edges"] >= 1
    assert rows("touchpoints") == expected["touchpoints"]
    assert rows("spells") == expected["spells"]
    identity_tables = page.locator("#identity table")
    assert identity_tables.nth(0).locator("tbody tr").count() == expected["identifiers"]
    assert identity_tables.nth(1).locator("tbody tr").count() == expected["edges"]
    shown = set(identity_tables.nth(0).locator("tbody tr td:nth-child(2)").all_text_contents())
    values = published.query(
        "select identifier_value from identity.identity_map where person_id = $p", {"p": person}
    )["identifier_value"]
    assert shown == set(values)  # as published: pseudonyms when the run had a key
    opened.page.close()
