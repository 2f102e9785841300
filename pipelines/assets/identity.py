"""Identity assets: read the evidence dbt built, stitch in Polars (on Spark with
JOURNEY_ENGINE=spark: pipelines/spark/identity.py), write the identity tables.

Keys `[identity, <table>]` match the dbt source `identity`, so the marts depend on them
without glue. Stable ids come from the *published* warehouse's identity_map: a run that did
not publish never becomes "previous".
"""

from datetime import UTC, datetime
from typing import TypedDict

import dagster as dg
import duckdb
import polars as pl
from dagster import AssetExecutionContext

from pipelines.assets.common import is_full_refresh, step_log
from pipelines.identity.rules import IdentityRules, load_rules
from pipelines.identity.stitch import StitchResult, stitch, write_tables
from pipelines.privacy.keys import (
    FINGERPRINT_TABLE,
    fingerprint_frame,
    published_key,
    verify_key,
    write_fingerprint,
)
from pipelines.resources import JourneyResource
from pipelines.settings import Secret, Settings
from pipelines.spark.identity import spark_session, stitch_warehouse
from pipelines.warehouse.published import read_published_table, with_history

IDENTITY_TABLES = (
    "identity_map",
    "identity_record_persons",
    "identity_edges",
    "identity_rejected_edges",
    "identity_merges",
    "identity_splits",
    "identity_suppressed_records",
)
EVIDENCE_MODEL = "int_identity_evidence"
MAX_CLUSTER_IDENTIFIERS = 200  # a person with more identifiers than this is an over-merge


def read_evidence(settings: Settings) -> pl.DataFrame:
    """The evidence of a DuckDB build (a Spark build's is read by Spark: `stitch_on_spark`)."""
    con = duckdb.connect(str(settings.build_warehouse_path), read_only=True)
    try:
        return con.sql(f"select * from intermediate.{EVIDENCE_MODEL}").pl()
    finally:
        con.close()


class StitchArguments(TypedDict):
    """What the identity step hands to `stitch` or `stitch_warehouse`, besides the evidence."""

    rules: IdentityRules
    run_id: str
    run_at: datetime
    previous_map: pl.DataFrame | None
    erasures: pl.DataFrame | None
    pseudonymize_key: Secret | None


def stitch_on_spark(settings: Settings, options: StitchArguments) -> StitchResult:
    """JOURNEY_ENGINE=spark: the identity step on Spark (pipelines/spark/identity.py), in a
    session of its own on JOURNEY_SPARK_MASTER (dbt's ran in dbt's process)."""
    spark = spark_session(
        settings.spark_master,
        "journey-identity",
        settings.spark_shuffle_partitions,
        settings.spark_driver_memory,
    )
    try:
        return stitch_warehouse(spark, settings.spark_dir / "warehouse", **options)
    finally:
        spark.stop()


def read_erasures(settings: Settings) -> pl.DataFrame | None:
    path = settings.erasure_file
    if path is None:
        return None
    if not path.exists():
        raise FileNotFoundError(
            f"JOURNEY_ERASURE_FILE points to {path}, which does not exist; create it "
            "(columns identifier_kind, identifier_value, requested_at) or unset the variable"
        )
    return pl.read_csv(path, schema_overrides={"identifier_value": pl.Utf8})


def build_identity_assets() -> list:
    specs = [
        dg.AssetSpec(
            key=dg.AssetKey(["identity", table]),
            group_name="identity",
            deps=[dg.AssetKey(EVIDENCE_MODEL)],
            kinds={"polars", "parquet"},
            description=f"`{table}` from identity stitching (docs/contracts.md §5.3).",
        )
        for table in IDENTITY_TABLES
    ] + [
        dg.AssetSpec(
            key=dg.AssetKey(["identity", FINGERPRINT_TABLE]),
            group_name="identity",
            deps=[dg.AssetKey(EVIDENCE_MODEL)],
            kinds={"parquet"},
            description="The fingerprint of the pseudonymisation key the identity tables were "
            "built with (never the key; docs/operations.md, 'Key rotation').",
        )
    ]

    @dg.multi_asset(
        name="identity_stitching",
        specs=specs,
        op_tags={"journey/stage": "identity"},
        check_specs=[
            dg.AssetCheckSpec(
                "cluster_size_bounded",
                asset=dg.AssetKey(["identity", "identity_map"]),
                blocking=True,
                description=f"No person has more than {MAX_CLUSTER_IDENTIFIERS} identifiers.",
            )
        ],
    )
    def identity_stitching(context: AssetExecutionContext, journey: JourneyResource):
        settings = journey.settings()
        # a different key would silently re-key every pseudonymised value: refused unless a
        # rotation was requested (python -m pipelines rotate-key)
        context.log.info(
            verify_key(published_key(settings), settings.pseudonymize_key, settings.state_dir)
        )
        full_refresh = is_full_refresh(context)
        rules = load_rules()

        def previous(table: str) -> pl.DataFrame | None:
            return None if full_refresh else read_published_table(settings, "identity", table)

        with step_log(context):
            options = StitchArguments(
                rules=rules,
                run_id=context.run_id,
                run_at=datetime.now(UTC).replace(tzinfo=None),
                previous_map=previous("identity_map"),
                erasures=read_erasures(settings),
                pseudonymize_key=settings.pseudonymize_key,
            )
            if settings.engine == "spark":  # the same rules per component (docs/scale-out.md)
                context.log.info("identity: stitching int_identity_evidence on Spark")
                result = stitch_on_spark(settings, options)
            else:
                context.log.info("identity: reading the evidence dbt built (int_identity_evidence)")
                result = stitch(read_evidence(settings), **options)
        for table in ("identity_merges", "identity_splits"):
            result.tables[table] = with_history(result.tables[table], previous(table))
        context.log.info(f"identity: writing {len(IDENTITY_TABLES)} tables")
        paths = write_tables(result, settings.build_identity_dir)
        fingerprint = fingerprint_frame(settings.pseudonymize_key, rules.pseudonymize_kinds)
        paths[FINGERPRINT_TABLE] = write_fingerprint(settings.build_identity_dir, fingerprint)
        metrics = {key: value for key, value in result.metrics.items()}
        for table in IDENTITY_TABLES:
            metadata = {"rows": dg.MetadataValue.int(result.tables[table].height)}
            metadata["path"] = dg.MetadataValue.path(str(paths[table]))
            if table == "identity_map":
                metadata.update({name: value for name, value in metrics.items()})
            yield dg.MaterializeResult(
                asset_key=dg.AssetKey(["identity", table]), metadata=metadata
            )
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["identity", FINGERPRINT_TABLE]),
            metadata={
                "key_fingerprint": str(fingerprint["key_fingerprint"][0]),
                "path": dg.MetadataValue.path(str(paths[FINGERPRINT_TABLE])),
            },
        )
        yield dg.AssetCheckResult(
            asset_key=dg.AssetKey(["identity", "identity_map"]),
            check_name="cluster_size_bounded",
            passed=bool(result.metrics.get("largest_cluster", 0) <= MAX_CLUSTER_IDENTIFIERS),
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "largest_cluster": result.metrics.get("largest_cluster", 0),
                "bound": MAX_CLUSTER_IDENTIFIERS,
            },
        )

    return [identity_stitching]
