"""Shared pieces of the asset definitions: partitions, run tags, the run's date range."""

from __future__ import annotations

from datetime import date

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
    """First and last data day of this run (one day nightly, a range for a backfill)."""
    key_range = context.partition_key_range
    return date.fromisoformat(key_range.start), date.fromisoformat(key_range.end)


def is_full_refresh(context: dg.AssetExecutionContext) -> bool:
    return context.run.tags.get(FULL_REFRESH_TAG, "false").lower() == "true"
