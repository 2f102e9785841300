"""Identity assets: read the evidence dbt built, stitch in Polars (on Spark with
JOURNEY_ENGINE=spark: pipelines/spark/identity.py), write the identity tables.

Keys `[identity, <table>]` match the dbt source `identity`, so the marts depend on them
without glue. A night re-stitches only the candidate components its new, changed or gone
records touch (`pipelines.identity.nightly`), against the state and identity tables the live
generation holds (`pipelines.warehouse.identity_state`); it writes tonight's state beside its
tables in the build, and `publish` keeps it with the generation. A run that did not publish
never becomes "previous". Without a usable state (first night, full refresh, a generation
without one, an unreadable state, other rules, key or Polars) the night stitches everything,
with stable ids from the published identity_map; the mode and its reason are the
identity_map's metadata (`identity_mode`, `identity_mode_reason`) and so in the run report.
With JOURNEY_ENGINE=spark every night is a full stitch on Spark (the same rules per candidate
component) and writes no state (docs/scale-out.md).
"""

from datetime import UTC, datetime
from typing import Any

import dagster as dg
import duckdb
import polars as pl
from dagster import AssetExecutionContext

from pipelines.assets.common import is_full_refresh, step_log
from pipelines.identity.rules import load_rules
from pipelines.identity.stitch import StitchResult
from pipelines.privacy.keys import (
    FINGERPRINT_TABLE,
    fingerprint_frame,
    published_key,
    verify_key,
    write_fingerprint,
)
from pipelines.resources import JourneyResource
from pipelines.settings import Settings
from pipelines.warehouse.identity_state import (
    IdentityNight,
    run_identity_full_stitch,
    run_identity_night,
)

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
EVIDENCE_FILE = "identity_evidence.parquet"  # in the build folder, deleted after the step
MAX_CLUSTER_IDENTIFIERS = 200  # a person with more identifiers than this is an over-merge


def read_evidence(settings: Settings) -> pl.LazyFrame:
    """The evidence of a DuckDB build, as a scan of a Parquet copy in the build folder: the
    night reads it in streaming passes and holds only the rows it re-stitches (DuckDB writes
    the copy without holding the table either). A Spark build's is read by Spark."""
    target = settings.build_dir / EVIDENCE_FILE
    quoted = str(target).replace("'", "''")
    con = duckdb.connect(str(settings.build_warehouse_path), read_only=True)
    try:
        con.execute(
            f"copy intermediate.{EVIDENCE_MODEL} to '{quoted}' (format parquet, compression lz4)"
        )
    finally:
        con.close()
    return pl.scan_parquet(target)


def stitch_on_spark(settings: Settings, *, full_refresh: bool, **options: Any) -> IdentityNight:
    """JOURNEY_ENGINE=spark: a full stitch on Spark (pipelines/spark/identity.py) of the Spark
    build's evidence, in a session of its own on JOURNEY_SPARK_MASTER (dbt's ran in dbt's
    process), with stable ids from the published identity_map."""
    from pipelines.spark.identity import spark_session, stitch_warehouse, stop_session

    def stitch_all(previous_map: pl.DataFrame | None) -> StitchResult:
        spark = spark_session(
            settings.spark_master,
            "journey-identity",
            settings.spark_shuffle_partitions,
            settings.spark_driver_memory,
        )
        try:
            return stitch_warehouse(
                spark,
                settings.spark_dir / "warehouse",
                previous_map=previous_map,
                pseudonymize_key=settings.pseudonymize_key,
                **options,
            )
        finally:
            stop_session(spark)

    return run_identity_full_stitch(
        settings,
        stitch_all,
        full_refresh=full_refresh,
        reason="full stitch on Spark (the nightly re-stitch runs on one machine only)",
    )


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
        options: dict[str, Any] = {
            "rules": rules,
            "run_id": context.run_id,
            "run_at": datetime.now(UTC).replace(tzinfo=None),
            "erasures": read_erasures(settings),
        }
        with step_log(context):
            if settings.engine == "spark":  # the same rules per component (docs/scale-out.md)
                context.log.info("identity: stitching int_identity_evidence on Spark")
                done = stitch_on_spark(settings, full_refresh=full_refresh, **options)
            else:
                context.log.info("identity: reading the evidence dbt built (int_identity_evidence)")
                evidence = read_evidence(settings)
                done = run_identity_night(settings, evidence, full_refresh=full_refresh, **options)
                del evidence
                (settings.build_dir / EVIDENCE_FILE).unlink(missing_ok=True)
        paths, metrics = done.paths, done.metrics
        fingerprint = fingerprint_frame(settings.pseudonymize_key, rules.pseudonymize_kinds)
        paths[FINGERPRINT_TABLE] = write_fingerprint(settings.build_identity_dir, fingerprint)
        largest_cluster = int(metrics["largest_cluster"])
        for table in IDENTITY_TABLES:
            metadata = {"rows": dg.MetadataValue.int(done.rows[table])}
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
            passed=largest_cluster <= MAX_CLUSTER_IDENTIFIERS,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "largest_cluster": largest_cluster,
                "bound": MAX_CLUSTER_IDENTIFIERS,
            },
        )

    return [identity_stitching]
