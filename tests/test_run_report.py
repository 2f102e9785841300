"""The run report: the records the vendors removed (counted from the warehouse the run built),
and every warning check's offending values with their counts, readably, in JSON and Markdown —
for Great Expectations checks and for dbt value-set tests (read from the failing rows dbt stores
as views)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.run_report import (
    DBT_FAILED_ROWS,
    _add_dbt_failure_samples,
    _removed_records,
    render_markdown,
)
from pipelines.settings import Settings
from pipelines.warehouse.generations import (
    Generation,
    Pointer,
    begin_generation,
    finish_generation,
    generations_dir,
    write_pointer,
)


def _warehouse(path: Path, rows: str | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.sql("create schema marts")
        if rows is not None:
            con.sql(
                "create table marts.fct_removed_records as select * from (values "
                f"{rows}) as t (source, stream, record_id, removal_reason, removed_at)"
            )


def _live_state(settings: Settings) -> Path:
    """A published generation (pointer + manifest) whose private build state is the file to
    fill: what a published night leaves, the way pipelines.warehouse.generations writes it."""
    generation = Generation(
        id="g1", folder=generations_dir(settings) / "g1", run_id="r", created_at="t"
    )
    begin_generation(settings, generation.id)
    finish_generation(settings, generation)
    write_pointer(settings, Pointer(current=generation.id, settled=True))
    return generation.state_file


def test_removed_records_are_counted_from_the_warehouse_the_run_built(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "JOURNEY_DATA_DIR": str(tmp_path / "data"),
            "JOURNEY_WAREHOUSE_PATH": str(tmp_path / "w.duckdb"),
        }
    )
    _warehouse(
        _live_state(settings),
        "('zendesk', 'tickets', '7', 'deleted', null), ('zendesk', 'tickets', '8', 'deleted', null), "
        "('zendesk', 'tickets', '9', 'merged', null), "
        "('zendesk', 'satisfaction_ratings', '70', 'deleted', null)",
    )
    counted = _removed_records(settings, published=True)
    assert counted == [
        {
            "source": "zendesk",
            "stream": "satisfaction_ratings",
            "removal_reason": "deleted",
            "records": 1,
        },
        {"source": "zendesk", "stream": "tickets", "removal_reason": "deleted", "records": 2},
        {"source": "zendesk", "stream": "tickets", "removal_reason": "merged", "records": 1},
    ]
    # a run that did not publish counts what it built; without a build there is nothing to count
    assert _removed_records(settings, published=False) == []
    _warehouse(settings.build_warehouse_path, None)  # stopped before the mart was built
    assert _removed_records(settings, published=False) == []
    report = {
        "run_id": "r", "status": "SUCCESS", "published": True, "partitions": {"start": "d", "end": "d"},
        "full_refresh": False, "started_at": "t", "seconds": 1, "publish": {"path": "w"},
        "landing": [], "checks": {"passed": 1, "warned": 0, "failed": 0, "failures": [], "warnings": []},
        "identity": {}, "stages": [], "errors": [], "removed_records": counted,
    }  # fmt: skip
    markdown = render_markdown(report)
    assert "- zendesk/tickets: 2 deleted" in markdown and "- zendesk/tickets: 1 merged" in markdown


def test_a_published_nights_dbt_warnings_show_their_failing_rows(tmp_path: Path) -> None:
    """A published night's build becomes the live generation's private state: a warned dbt
    test's sample (an unknown value and its count) is read from there."""
    settings = Settings.from_env(
        {
            "JOURNEY_DATA_DIR": str(tmp_path / "data"),
            "JOURNEY_WAREHOUSE_PATH": str(tmp_path / "w.duckdb"),
        }
    )
    with duckdb.connect(str(_live_state(settings))) as con:
        con.sql("create schema test_failures")
        con.sql(
            'create view test_failures."accepted_values_channel" as '
            "select 'whatsapp' as value_field, 1 as n_records"
        )
    check = {"check": "accepted_values_channel", "metadata": {DBT_FAILED_ROWS: 1}}
    _add_dbt_failure_samples(settings, [check], published=True)
    assert check["metadata"]["sample"] == [{"value_field": "whatsapp", "n_records": 1}]


@pytest.mark.parametrize("value_column", ["value_field", "unknown_value"])
def test_dbt_value_set_failures_become_values_and_counts(tmp_path, value_column):
    """dbt's accepted_values and our known_values both store one row per value and count."""
    settings = Settings.from_env(
        {
            "JOURNEY_WAREHOUSE_PATH": str(tmp_path / "warehouse" / "journey.duckdb"),
            "JOURNEY_BUILD_DIR": str(tmp_path / "build"),
        }
    )
    settings.build_dir.mkdir(parents=True)
    con = duckdb.connect(str(settings.build_warehouse_path))
    con.execute("create schema test_failures")
    con.execute(  # the shape of both tests' failing rows: the value, n_records
        "create table actions as select unnest(['action', 'search', 'search', 'goal', 'search', "
        "'download', 'goal']) as action_type"
    )
    name = "accepted_values_stg_matomo__actions_action_type__action__event"
    con.execute(
        f'create view test_failures."{name}" as select action_type as {value_column}, '
        "count(*) as n_records from actions group by 1 having action_type not in ('action')"
    )
    con.close()
    check = {
        "asset": "stg_matomo__actions",
        "check": name,
        "metadata": {"dagster_dbt/failed_row_count": 3, "failed_rows": 3},
    }
    _add_dbt_failure_samples(settings, [check])
    assert check["metadata"]["unexpected_values"] == [
        {"value": "search", "count": 3},
        {"value": "goal", "count": 2},
        {"value": "download", "count": 1},
    ]


def test_warnings_show_their_values_in_markdown():
    report = {
        "run_id": "r1",
        "status": "SUCCESS",
        "published": True,
        "publish": {"path": "warehouse/journey.duckdb"},
        "partitions": {"start": "2026-09-30", "end": "2026-09-30"},
        "full_refresh": False,
        "started_at": "2026-10-01T02:00:00+00:00",
        "seconds": 60.0,
        "landing": [],
        "identity": {},
        "checks": {
            "passed": 10,
            "warned": 2,
            "failed": 0,
            "failures": [],
            "warnings": [
                {
                    "asset": "matomo/visits",
                    "check": "referrerType_known",
                    "metadata": {
                        "failed_rows": 1205,
                        "unexpected_values": [
                            {"value": "campaign_v2", "count": 1200},
                            {"value": "ai_assistant", "count": 5},
                        ],
                    },
                },
                {
                    "asset": "shopify/customers",
                    "check": "email_valid",
                    "metadata": {"failed_rows": 1, "message": "1 of 40 rows"},
                },
            ],
        },
        "stages": [],
        "errors": [],
    }
    lines = render_markdown(report).splitlines()
    assert (
        "- warning: `matomo/visits` / `referrerType_known`: unexpected values "
        "`campaign_v2` (1,200), `ai_assistant` (5)"
    ) in lines
    assert any(
        line.startswith("- warning: `shopify/customers` / `email_valid` {") for line in lines
    )


def test_a_failed_dbt_test_carries_its_description_into_the_report():
    """The manifest's words for the test (its yml description or its kind's sentence)."""
    from pipelines.run_report import _add_dbt_descriptions

    failed = {
        "asset": "fct_orders",
        "check": "unique_fct_orders_order_id",
        "passed": False,
        "severity": "ERROR",
        "metadata": {DBT_FAILED_ROWS: 2},
    }
    gx = {"asset": "fct_orders", "check": "revenue_reconciles", "metadata": {"message": "x"}}
    _add_dbt_descriptions([failed, gx])
    assert failed["description"].startswith("`fct_orders.order_id` (")
    assert "identifies one row of `fct_orders`" in failed["description"]
    assert "description" not in gx  # a GX check's message already says it
    report = {
        "run_id": "r", "job": "nightly", "status": "FAILURE", "published": False,
        "publish": {"reason": "blocking checks failed"},
        "partitions": {"start": "2026-09-30", "end": "2026-09-30"},
        "full_refresh": False, "started_at": None, "seconds": None, "landing": [],
        "identity": {}, "stages": [], "errors": [],
        "checks": {"passed": 0, "warned": 0, "failed": 1, "failures": [failed], "warnings": []},
    }  # fmt: skip
    lines = render_markdown(report).splitlines()
    at = next(i for i, line in enumerate(lines) if "unique_fct_orders_order_id" in line)
    assert lines[at + 1] == f"  - {failed['description']}"
