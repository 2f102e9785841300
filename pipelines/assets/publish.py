"""The publish asset: the last step of write-audit-publish.

It depends on every model and identity table, so it runs only when all of them were built
and every blocking check (dbt tests of severity error, blocking Great Expectations checks)
passed — Dagster does not start it otherwise, and the run fails. It writes the dbt docs,
then publishes the build as a new generation: the analyst surface, its Parquet exports and,
when configured, its PostgreSQL copy (`pipelines.warehouse.publish`).
"""

from collections.abc import Sequence

import dagster as dg
from dagster import AssetExecutionContext

from pipelines.assets.common import WAREHOUSE_GROUP, step_log
from pipelines.console import announce, format_seconds
from pipelines.resources import JourneyResource
from pipelines.warehouse.dbt_runner import generate_docs
from pipelines.warehouse.publish import publish

PUBLISHED_WAREHOUSE = dg.AssetKey(["warehouse", "published"])


def build_publish_asset(upstream: Sequence[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=PUBLISHED_WAREHOUSE,
        deps=list(upstream),
        group_name=WAREHOUSE_GROUP,
        kinds={"duckdb"},
        op_tags={"journey/stage": "publish"},
        description="The published DuckDB warehouse (JOURNEY_WAREHOUSE_PATH: the analyst "
        "schemas as tables), its Parquet exports and its PostgreSQL copy (JOURNEY_POSTGRES_URL), "
        "swapped in atomically after every blocking check passed.",
    )
    def published_warehouse(context: AssetExecutionContext, journey: JourneyResource):
        settings = journey.settings()
        context.log.info("publish: writing the dbt docs (`dbt docs generate`)")
        announce("publish: dbt docs generate is reading the warehouse's catalog")
        docs = generate_docs(settings, settings.docs_dir / "dbt")
        context.log.info(f"publish: dbt docs written to {docs}")
        context.log.info("publish: exporting the published tables to Parquet and swapping in")
        with step_log(context):
            result = publish(settings, run_id=context.run_id)
        context.log.info(
            f"publish: {result.warehouse_path} is live ({len(result.tables)} tables, exports in "
            f"{result.export_dir}, {format_seconds(result.seconds)})"
        )
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(result.warehouse_path)),
                "previous": str(result.previous_path) if result.previous_path else "none",
                "generation": result.generation,
                "postgres": result.postgres,
                "previous_discarded": result.previous_discarded or "no",
                "exports": dg.MetadataValue.path(str(result.export_dir)),
                "dbt_docs": dg.MetadataValue.path(str(docs)),
                "tables": dg.MetadataValue.json(result.tables),
                "seconds": round(result.seconds, 2),
            }
        )

    return published_warehouse
