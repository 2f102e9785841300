"""Shared pieces of the asset definitions: partitions, run tags, the run's date range."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from pipelines.settings import Settings

FULL_REFRESH_TAG = "journey/full_refresh"
WAREHOUSE_GROUP = "warehouse"

EXTRACTION_RETRY = dg.RetryPolicy(
    max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """One partition per data day; a run for day D pulls data up to the end of D."""
    return dg.DailyPartitionsDefinition(
        start_date=settings.partitions_start.isoformat(), timezone="UTC"
    )


def run_days(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """First and last data day of a partitioned asset's run (a range for a backfill)."""
    key_range = context.partition_key_range
    return date.fromisoformat(key_range.start), date.fromisoformat(key_range.end)


def run_last_day(context: dg.AssetExecutionContext) -> date:
    """The last data day of the run, for the unpartitioned warehouse assets.

    The warehouse is one current state, not a set of days, so only extraction is partitioned;
    the other assets read the run's partition (or partition range) from its tags.
    """
    tags = context.run.tags
    key = tags.get("dagster/asset_partition_range_end") or tags.get("dagster/partition")
    if key:
        return date.fromisoformat(key)
    return (datetime.now(UTC) - timedelta(days=1)).date()


def is_full_refresh(context: dg.AssetExecutionContext) -> bool:
    return context.run.tags.get(FULL_REFRESH_TAG, "false").lower() == "true"


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
