"""A night means the same data day everywhere, in the schedule's time zone (issue 16, item 6).

The schedule's tick, a run launched without day tags, the CLI's default and the run report all
take "yesterday" on the wall clock of JOURNEY_SCHEDULE_TIMEZONE, including around midnight
(when UTC is still on the previous day) and across daylight-saving changes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._utils.schedules import schedule_execution_time_iterator

from pipelines.assets.common import FIRST_DAY_TAG, run_day_range
from pipelines.jobs import build_nightly_job, build_nightly_schedule
from pipelines.settings import Settings, SettingsError, yesterday_in

BERLIN = ZoneInfo("Europe/Berlin")


def test_yesterday_is_the_day_before_on_the_zones_wall_clock():
    # 00:30 in Berlin on 1 October is 22:30 UTC on 30 September
    instant = datetime(2026, 10, 1, 0, 30, tzinfo=BERLIN)
    assert instant.astimezone(UTC).date() == date(2026, 9, 30)
    assert yesterday_in("Europe/Berlin", instant) == date(2026, 9, 30)
    assert yesterday_in("UTC", instant) == date(2026, 9, 29)
    # and a naive instant is UTC (what the contract's timestamps are)
    assert yesterday_in("Europe/Berlin", datetime(2026, 9, 30, 22, 30)) == date(2026, 9, 30)


def test_an_untagged_run_and_the_cli_default_take_the_schedules_zone():
    settings = Settings.from_env({"JOURNEY_SCHEDULE_TIMEZONE": "Europe/Berlin"})
    instant = datetime(2026, 10, 1, 0, 30, tzinfo=BERLIN)
    assert settings.yesterday(instant) == date(2026, 9, 30)  # `pipelines run` without --date
    assert run_day_range({}, timezone=settings.schedule_timezone, now=instant) == (
        date(2026, 9, 30),
        date(2026, 9, 30),
    )
    # a tagged run is its tags, whatever the zone
    tags = {FIRST_DAY_TAG: "2026-09-01"}
    assert run_day_range(tags, timezone="Pacific/Kiritimati", now=instant)[0] == date(2026, 9, 1)


def test_an_unknown_time_zone_is_refused_naming_the_variable():
    with pytest.raises(SettingsError, match="JOURNEY_SCHEDULE_TIMEZONE must be an IANA time zone"):
        Settings.from_env({"JOURNEY_SCHEDULE_TIMEZONE": "Central European Time"})


@pytest.mark.parametrize(
    ("cron", "first_tick", "days"),
    [
        # 00:30 Berlin: just after midnight, while UTC is still on the day before
        ("30 0 * * *", datetime(2026, 3, 26, tzinfo=BERLIN), 8),
        # 02:30 Berlin does not exist on 29 March 2026 (clocks jump 02:00 -> 03:00) and happens
        # twice on 25 October 2026 (03:00 -> 02:00): still one night per day
        ("30 2 * * *", datetime(2026, 3, 26, tzinfo=BERLIN), 8),
        ("30 2 * * *", datetime(2026, 10, 22, tzinfo=BERLIN), 8),
    ],
)
def test_each_tick_runs_the_previous_local_day_across_dst(cron, first_tick, days):
    settings = Settings.from_env(
        {"JOURNEY_SCHEDULE_TIMEZONE": "Europe/Berlin", "JOURNEY_SCHEDULE_CRON": cron}
    )
    schedule = build_nightly_schedule(build_nightly_job(), settings)
    assert schedule.execution_timezone == "Europe/Berlin"
    # the daemon's own iterator over the cron in the schedule's zone
    ticks = schedule_execution_time_iterator(
        first_tick.timestamp(), schedule.cron_schedule, schedule.execution_timezone
    )
    run_keys = []
    for _ in range(days):
        tick = next(ticks)  # what the daemon passes: the tick in the schedule's zone
        context = dg.build_schedule_context(scheduled_execution_time=tick)
        [request] = schedule.evaluate_tick(context).run_requests
        local_day = tick.astimezone(BERLIN).date()
        assert request.tags[FIRST_DAY_TAG] == request.run_key == str(local_day - timedelta(1))
        run_keys.append(date.fromisoformat(request.run_key))
    # one night per data day: no day skipped, none run twice, even in the DST weeks
    first = run_keys[0]
    assert run_keys == [first + timedelta(days=n) for n in range(days)]
    assert first == first_tick.date() - timedelta(days=1) or first == first_tick.date()


def test_a_step_of_an_untagged_run_covers_yesterday_in_the_schedules_zone():
    """What a step sees when the run was launched with "Materialize" (no day tags)."""
    from pipelines.assets.common import run_days
    from pipelines.settings import temporary_environment

    seen: list[tuple[date, date]] = []

    @dg.asset
    def probe(context) -> None:  # no annotation: a string one (future import) is refused
        seen.append(run_days(context))

    zone = "Pacific/Kiritimati"  # UTC+14: its date is ahead of UTC's for 14 hours a day
    with temporary_environment({"JOURNEY_SCHEDULE_TIMEZONE": zone}):
        before = yesterday_in(zone)
        assert dg.materialize([probe], instance=dg.DagsterInstance.ephemeral()).success
    assert seen[0][0] == seen[0][1] and seen[0][0] in {before, yesterday_in(zone)}
    # a tagged run is its tags
    tagged = dg.materialize(
        [probe], instance=dg.DagsterInstance.ephemeral(), tags={FIRST_DAY_TAG: "2026-09-01"}
    )
    assert tagged.success and seen[1] == (date(2026, 9, 1), date(2026, 9, 1))
