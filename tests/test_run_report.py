"""The run report's warnings: every warning check shows its offending values and their counts,
readably, in JSON and Markdown — for Great Expectations checks and for dbt accepted-values
tests (read from the failing rows dbt stores as views in the build warehouse)."""

from __future__ import annotations

import duckdb

from pipelines.run_report import _add_dbt_failure_samples, render_markdown
from pipelines.settings import Settings


def test_dbt_accepted_values_failures_become_values_and_counts(tmp_path):
    settings = Settings.from_env(
        {
            "JOURNEY_WAREHOUSE_PATH": str(tmp_path / "warehouse" / "journey.duckdb"),
            "JOURNEY_BUILD_DIR": str(tmp_path / "build"),
        }
    )
    settings.build_dir.mkdir(parents=True)
    con = duckdb.connect(str(settings.build_warehouse_path))
    con.execute("create schema test_failures")
    con.execute(  # the shape of dbt's accepted_values test: value_field, n_records
        "create table actions as select unnest(['action', 'search', 'search', 'goal', 'search', "
        "'download', 'goal']) as action_type"
    )
    name = "accepted_values_stg_matomo__actions_action_type__action__event"
    con.execute(
        f'create view test_failures."{name}" as select action_type as value_field, '
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
