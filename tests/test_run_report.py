"""The run report counts the records the vendors removed, from the warehouse the run built."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.run_report import (
    DBT_FAILED_ROWS,
    _add_dbt_failure_samples,
    _removed_records,
    render_markdown,
)
from pipelines.settings import Settings


def _warehouse(path: Path, rows: str | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.sql("create schema marts")
        if rows is not None:
            con.sql(
                "create table marts.fct_removed_records as select * from (values "
                f"{rows}) as t (source, stream, record_id, removal_reason, removed_at)"
            )


def test_removed_records_are_counted_from_the_warehouse_the_run_built(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "JOURNEY_DATA_DIR": str(tmp_path / "data"),
            "JOURNEY_WAREHOUSE_PATH": str(tmp_path / "w.duckdb"),
        }
    )
    _warehouse(
        settings.warehouse_path,
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
    """The build file becomes the published one: a warned dbt test's sample (an unknown value
    and its count) is read from there."""
    settings = Settings.from_env(
        {
            "JOURNEY_DATA_DIR": str(tmp_path / "data"),
            "JOURNEY_WAREHOUSE_PATH": str(tmp_path / "w.duckdb"),
        }
    )
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.sql("create schema test_failures")
        con.sql(
            'create view test_failures."accepted_values_channel" as '
            "select 'whatsapp' as value_field, 1 as n_records"
        )
    check = {"check": "accepted_values_channel", "metadata": {DBT_FAILED_ROWS: 1}}
    _add_dbt_failure_samples(settings, [check], published=True)
    assert check["metadata"]["sample"] == [{"value_field": "whatsapp", "n_records": 1}]
