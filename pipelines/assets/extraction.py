"""Landing assets: one per source stream, keyed `[source, stream]` like the dbt sources.

Each source is one multi-asset (its streams share a client and, for Zendesk, responses);
the work is `pipelines.extract.runner.extract_source`, this module only wires it to Dagster.
"""

from datetime import UTC, datetime

import dagster as dg
from dagster import AssetExecutionContext

from pipelines.assets.common import EXTRACTION_RETRY, is_full_refresh, run_days, step_log
from pipelines.extract.errors import is_transient
from pipelines.extract.runner import SOURCES, extract_source, plan_window, streams_of
from pipelines.quality.gx_loader import prefetch_gx
from pipelines.resources import JourneyResource

SOURCE_DESCRIPTIONS = {
    "matomo": "Matomo Reporting API (Live.getLastVisitsDetails)",
    "mailchimp": "Mailchimp Marketing API 3.0",
    "shopify": "Shopify Admin REST API",
    "zendesk": "Zendesk Support API (incremental exports)",
    "filedrop": "file drops in JOURNEY_DROP_DIR (canonical CSV/NDJSON)",
}


def _stream_metadata(result, window) -> dict:
    metadata = {
        "window_start": str(window.start),
        "window_end": str(window.end),
        "status": result.status,
        "pages": result.pages,
        "records": dg.MetadataValue.int(result.records),
        "quarantined": dg.MetadataValue.int(result.quarantined),
        "duplicates_in_batch": result.duplicates_in_batch,
        "seconds": round(result.seconds, 3),
        "records_per_second": round(result.records_per_second, 1),
        "retries": result.retries,
        "cursor_before": str(result.cursor_before),
        "cursor_after": str(result.cursor_after),
    }
    if result.skipped_reason:
        metadata["skipped_reason"] = result.skipped_reason
    if result.unknown_fields:
        metadata["unknown_fields"] = dg.MetadataValue.json(result.unknown_fields)
    return metadata


def _extraction_asset(source: str, retry_policy: dg.RetryPolicy) -> dg.AssetsDefinition:
    specs = [
        dg.AssetSpec(
            key=dg.AssetKey([source, stream]),
            group_name="landing",
            description=f"Raw `{stream}` records from the {SOURCE_DESCRIPTIONS[source]}, "
            "appended to landing Parquet with load metadata (docs/contracts.md §3).",
            kinds={"python", "parquet"},
        )
        for stream in streams_of(source)
    ]

    @dg.multi_asset(
        name=f"extract_{source}",
        specs=specs,
        retry_policy=retry_policy,
        op_tags={"journey/stage": "extract"},
    )
    def _extract(context: AssetExecutionContext, journey: JourneyResource):
        # the landing checks that follow need Great Expectations: import it while we wait on
        # the vendors (pipelines/quality/gx_loader.py)
        prefetch_gx()
        settings = journey.settings()
        first_day, last_day = run_days(context)
        window = plan_window(
            settings,
            source,
            first_day=first_day,
            last_day=last_day,
            full_refresh=is_full_refresh(context),
        )
        try:
            with step_log(context):
                results = extract_source(
                    source,
                    settings,
                    window=window,
                    run_id=context.run_id,
                    load_date=datetime.now(UTC).date(),
                )
        except Exception as error:
            if is_transient(error):
                raise  # the retry policy tries again later
            raise dg.Failure(
                description=f"{type(error).__name__}: {error}",
                metadata={"retried": "no: trying again would fail the same way"},
                allow_retries=False,
            ) from error
        for result in results:
            yield dg.MaterializeResult(
                asset_key=dg.AssetKey([source, result.stream]),
                metadata=_stream_metadata(result, window),
            )

    return _extract


def build_extraction_assets(
    retry_policy: dg.RetryPolicy = EXTRACTION_RETRY,
) -> list[dg.AssetsDefinition]:
    """One multi-asset per source. Not partitioned: a run extracts the window of its data days
    (`journey/first_day` .. `journey/last_day`, DECISIONS.md), however many days that is.
    `retry_policy` retries transient failures only."""
    return [_extraction_asset(source, retry_policy) for source in SOURCES]
