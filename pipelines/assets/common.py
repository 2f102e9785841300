"""Shared pieces of the asset definitions: run tags and the run's range of data days."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime

import dagster as dg

from pipelines.settings import Settings, yesterday_in

FULL_REFRESH_TAG = "journey/full_refresh"
FIRST_DAY_TAG = "journey/first_day"
LAST_DAY_TAG = "journey/last_day"
WAREHOUSE_GROUP = "warehouse"

# Dagster's own partition tags, read for runs recorded before the range moved to the tags above.
_DAGSTER_RANGE_TAGS = (
    ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end"),
    ("dagster/partition", "dagster/partition"),
)

EXTRACTION_RETRY = dg.RetryPolicy(
    max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


class RunRangeError(ValueError):
    """The run's data-day tags are unusable (the message names the tag)."""


def day_range_tags(first_day: date, last_day: date, *, full_refresh: bool = False) -> dict:
    """The tags that make a run cover the data days `first_day`..`last_day` (both included)."""
    if last_day < first_day:
        raise RunRangeError(f"last day {last_day} is before first day {first_day}")
    return {
        FIRST_DAY_TAG: first_day.isoformat(),
        LAST_DAY_TAG: last_day.isoformat(),
        FULL_REFRESH_TAG: "true" if full_refresh else "false",
    }


def run_day_range(
    tags: Mapping[str, str], *, timezone: str = "UTC", now: datetime | None = None
) -> tuple[date, date]:
    """First and last data day of a run, from its tags (DECISIONS.md: a run is one window).

    `journey/first_day` .. `journey/last_day` (one of them alone means that one day); a run
    without them — "Materialize" clicked in the UI — covers yesterday in `timezone` (the
    schedule's, JOURNEY_SCHEDULE_TIMEZONE), the day the schedule would have chosen.
    """
    for first_tag, last_tag in ((FIRST_DAY_TAG, LAST_DAY_TAG), *_DAGSTER_RANGE_TAGS):
        first_text, last_text = tags.get(first_tag), tags.get(last_tag)
        if first_text or last_text:
            first = _tag_day(first_tag, first_text or last_text)
            last = _tag_day(last_tag, last_text or first_text)
            if last < first:
                raise RunRangeError(
                    f"run tag {last_tag}={last} is before {first_tag}={first}; swap them"
                )
            return first, last
    yesterday = yesterday_in(timezone, now)
    return yesterday, yesterday


def _tag_day(tag: str, text: str | None) -> date:
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError as error:
        raise RunRangeError(
            f"run tag {tag} must be a date YYYY-MM-DD, got {text!r}; fix the tag and launch again"
        ) from error


def run_days(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
) -> tuple[date, date]:
    """First and last data day of the step's run (untagged: yesterday in the schedule's zone)."""
    tags = context.run.tags
    if has_day_tags(tags):
        return run_day_range(tags)
    return run_day_range(tags, timezone=Settings.from_env().schedule_timezone)


def has_day_tags(tags: Mapping[str, str]) -> bool:
    """Whether the run names its days (else it covers yesterday in the schedule's zone)."""
    pairs = ((FIRST_DAY_TAG, LAST_DAY_TAG), *_DAGSTER_RANGE_TAGS)
    return any(tags.get(tag) for pair in pairs for tag in pair)


def run_last_day(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> date:
    """The last data day of the run (the warehouse's "as of" day)."""
    return run_days(context)[1]


def is_full_refresh(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> bool:
    return context.run.tags.get(FULL_REFRESH_TAG, "false").lower() == "true"


def skipped_this_run(
    context: dg.AssetCheckExecutionContext, keys: list[dg.AssetKey]
) -> dict[dg.AssetKey, str]:
    """The landing assets this run skipped (source not configured), with the reason: their
    materialization of this run says `status: skipped`."""
    skipped = {}
    for key in keys:
        event = context.instance.get_latest_materialization_event(key)
        if event is None or event.run_id != context.run.run_id:
            continue
        metadata = event.asset_materialization.metadata if event.asset_materialization else {}
        if getattr(metadata.get("status"), "value", None) == "skipped":
            reason = getattr(metadata.get("skipped_reason"), "value", "source not configured")
            skipped[key] = f"the stream was skipped this run ({reason})"
    return skipped


class _ToStepLog(logging.Handler):
    def __init__(self, context: dg.OpExecutionContext | dg.AssetExecutionContext) -> None:
        super().__init__(level=logging.INFO)
        self.context = context

    def emit(self, record: logging.LogRecord) -> None:
        self.context.log.log(record.levelno, record.getMessage())


@contextmanager
def step_log(
    context: dg.OpExecutionContext | dg.AssetExecutionContext, logger: str = "journey"
) -> Iterator[None]:
    """The pure modules' own log lines (`journey.*`, INFO and up: extraction progress, HTTP
    retries and Retry-After waits, identity phases, check progress) become the step's log
    lines while the block runs, so the Dagster UI and the console show them as they happen."""
    target = logging.getLogger(logger)
    handler = _ToStepLog(context)
    level, propagate = target.level, target.propagate
    target.addHandler(handler)
    target.setLevel(logging.INFO)
    target.propagate = False  # shown once, through the step's log
    try:
        yield
    finally:
        target.removeHandler(handler)
        target.setLevel(level)
        target.propagate = propagate
