"""The nightly job and its schedule."""

import dagster as dg

from pipelines.assets.common import day_range_tags
from pipelines.hooks import notify_on_failure
from pipelines.settings import Settings, yesterday_in

NIGHTLY_JOB = "nightly"


def build_nightly_job():
    """Everything, in dependency order, in one process, for the run's data days (tags
    `journey/first_day` .. `journey/last_day`; yesterday without them).

    The in-process executor is deliberate (DECISIONS.md): the staging warehouse is a DuckDB
    file that one process may write at a time, and Great Expectations takes ~10 s to import,
    which a process per step would pay again and again.
    """
    return dg.define_asset_job(
        name=NIGHTLY_JOB,
        selection=dg.AssetSelection.all(),
        executor_def=dg.in_process_executor,
        hooks={notify_on_failure},
        description="Extract every source, stitch identities, build the warehouse with dbt, "
        "run the quality gates and publish the warehouse if every blocking check passed.",
    )


def build_nightly_schedule(job, settings: Settings) -> dg.ScheduleDefinition:
    """Runs yesterday's data (in the schedule's time zone) at JOURNEY_SCHEDULE_CRON.

    Dagster evaluates the cron in `execution_timezone`, across daylight-saving changes; the
    data day is the calendar day before the tick on that zone's wall clock (`yesterday_in`),
    the same rule the CLI and an untagged run use.
    """

    @dg.schedule(
        name="nightly_schedule",
        cron_schedule=settings.schedule_cron,
        execution_timezone=settings.schedule_timezone,
        job=job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Nightly at `{settings.schedule_cron}` ({settings.schedule_timezone}): "
        "yesterday's data.",
    )
    def nightly_schedule(context: dg.ScheduleEvaluationContext):
        day = yesterday_in(settings.schedule_timezone, context.scheduled_execution_time)
        return dg.RunRequest(run_key=day.isoformat(), tags=day_range_tags(day, day))

    return nightly_schedule
