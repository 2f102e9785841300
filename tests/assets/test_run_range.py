"""A run is one window of data days, whatever its length (issue 15, cause 9).

A backfill used to be a Dagster partition range: Dagster wrote a planned event per asset per
day before the first step (5 years: 43,824 SQLite transactions, minutes of disk syncs before
the first HTTP request) and a materialization per asset per day after each step. Now the range
is two run tags, and the events a run writes do not depend on how many days it covers.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import dagster as dg
import pytest

from pipelines.assets.common import (
    FIRST_DAY_TAG,
    FULL_REFRESH_TAG,
    LAST_DAY_TAG,
    RunRangeError,
    day_range_tags,
    run_day_range,
)
from pipelines.definitions import build_definitions
from pipelines.jobs import NIGHTLY_JOB
from pipelines.settings import Settings


def test_the_run_range_comes_from_the_tags():
    assert day_range_tags(date(2021, 10, 1), date(2026, 9, 30), full_refresh=True) == {
        FIRST_DAY_TAG: "2021-10-01",
        LAST_DAY_TAG: "2026-09-30",
        FULL_REFRESH_TAG: "true",
    }
    tags = day_range_tags(date(2021, 10, 1), date(2026, 9, 30))
    assert run_day_range(tags) == (date(2021, 10, 1), date(2026, 9, 30))
    assert run_day_range({LAST_DAY_TAG: "2026-09-30"}) == (date(2026, 9, 30), date(2026, 9, 30))
    # a run started without tags (Materialize in the UI) is yesterday's
    noon = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    assert run_day_range({}, now=noon) == (date(2026, 9, 30), date(2026, 9, 30))
    # runs recorded before the change carried Dagster's partition tags
    assert run_day_range({"dagster/partition": "2026-09-29"}) == (
        date(2026, 9, 29),
        date(2026, 9, 29),
    )


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({FIRST_DAY_TAG: "yesterday"}, "journey/first_day must be a date YYYY-MM-DD"),
        (
            {FIRST_DAY_TAG: "2026-09-30", LAST_DAY_TAG: "2026-09-01"},
            "journey/last_day=2026-09-01 is before journey/first_day=2026-09-30",
        ),
    ],
)
def test_unusable_range_tags_name_the_tag(tags, message):
    with pytest.raises(RunRangeError, match=message):
        run_day_range(tags)


@pytest.fixture(scope="module")
def nightly():
    definitions = build_definitions(Settings.from_env({"JOURNEY_PARTITIONS_START": "2021-10-01"}))
    return definitions.resolve_job_def(NIGHTLY_JOB)


def test_no_asset_of_the_nightly_job_is_partitioned(nightly):
    assert nightly.partitions_def is None
    graph = nightly.asset_layer.asset_graph
    assert [key for key in graph.get_all_asset_keys() if graph.get(key).partitions_def] == []


def _planned_events(instance: dg.DagsterInstance, run: dg.DagsterRun) -> Counter:
    events = instance.all_logs(run.run_id)
    return Counter(entry.dagster_event.event_type_value for entry in events if entry.dagster_event)


def test_a_five_year_run_plans_no_more_events_than_a_one_day_run(nightly):
    instance = dg.DagsterInstance.ephemeral()
    one_day = instance.create_run_for_job(
        nightly, tags=day_range_tags(date(2026, 9, 30), date(2026, 9, 30))
    )
    five_years = instance.create_run_for_job(
        nightly, tags=day_range_tags(date(2021, 10, 1), date(2026, 9, 30), full_refresh=True)
    )
    planned = _planned_events(instance, five_years)
    assert planned == _planned_events(instance, one_day)
    # one planned materialization per asset, not one per asset and day
    assets = len(nightly.asset_layer.executable_asset_keys)
    assert planned["ASSET_MATERIALIZATION_PLANNED"] == assets
    assert five_years.tags[FIRST_DAY_TAG] == "2021-10-01"


def test_the_schedule_runs_yesterday_as_a_one_day_window():
    from pipelines.jobs import build_nightly_job, build_nightly_schedule

    schedule = build_nightly_schedule(build_nightly_job(), Settings.from_env({}))
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 10, 1, 2, 0))
    [request] = schedule.evaluate_tick(context).run_requests
    assert request.run_key == "2026-09-30"
    assert run_day_range(request.tags) == (date(2026, 9, 30), date(2026, 9, 30))
    assert request.tags[FULL_REFRESH_TAG] == "false" and request.partition_key is None
