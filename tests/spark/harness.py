"""The dbt harness (tests/dbt/harness.py) on Spark: the same landing, dbt selections and
identity step, with the profile's `spark` target (dbt-spark `method: session`, local master).

The identity step runs on Spark (`pipelines.spark.identity.stitch_warehouse`, as the asset does
with JOURNEY_ENGINE=spark) on the Spark build's `int_identity_evidence` table; after the
build, the published schemas are copied into the warehouse's DuckDB file
(`pipelines.spark.tables.copy_to_duckdb`), so the same queries and the publish step's own code
read both engines' builds. `python -m tests.spark.harness DATASET_DIR WORK_DIR` builds one.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from pipelines.identity.rules import load_rules
from pipelines.identity.stitch import write_tables
from pipelines.privacy.keys import fingerprint_frame, write_fingerprint
from pipelines.spark.identity import spark_session, stitch_warehouse, stop_session
from pipelines.spark.tables import copy_to_duckdb, spark_environment
from tests.dbt.harness import Warehouse, main

PUBLISHED_SCHEMAS = ("marts", "identity")


class SparkWarehouse(Warehouse):
    @property
    def spark_dir(self) -> Path:
        return self.root / "build" / "spark"

    def environment(self) -> dict[str, str]:
        return {**super().environment(), **spark_environment(self.spark_dir)}

    def stitch_identities(self, run_id: str, erasures: pl.DataFrame | None = None) -> None:
        started = time.perf_counter()
        # the settings the asset passes (pipelines/assets/identity.py), from the environment
        spark = spark_session(
            app_name="journey-identity-harness",
            shuffle_partitions=int(os.environ.get("JOURNEY_SPARK_SHUFFLE_PARTITIONS", "4")),
            driver_memory=os.environ.get("JOURNEY_SPARK_DRIVER_MEMORY", "2g"),
        )
        try:
            result = stitch_warehouse(
                spark,
                self.spark_dir / "warehouse",
                rules=load_rules(),
                run_id=run_id,
                run_at=datetime.now(UTC).replace(tzinfo=None),
                erasures=erasures,
            )
        finally:
            stop_session(spark)
        write_tables(result, self.identity_dir)
        write_fingerprint(self.identity_dir, fingerprint_frame(None, ()))
        self.timings[f"stitch {run_id}"] = time.perf_counter() - started

    def build(
        self, run_id: str, *extra: str, erasures: pl.DataFrame | None = None, tests: bool = True
    ) -> None:
        """One nightly build on Spark; `tests=False` builds the tables only (no data tests: the
        cross-engine test compares the tables, and each test is a Spark job of its own)."""
        # as the nightly job: dbt unit tests run in tests/dbt on DuckDB, not on each build
        skipped = ("unit_test",) if tests else ("unit_test", "test")
        excluded = [arg for kind in skipped for arg in ("--exclude-resource-type", kind)]
        super().build(run_id, *excluded, *extra, erasures=erasures)
        started = time.perf_counter()
        self.database.parent.mkdir(parents=True, exist_ok=True)
        copy_to_duckdb(self.spark_dir / "warehouse", self.database, PUBLISHED_SCHEMAS)
        self.timings[f"copy {run_id}"] = time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], SparkWarehouse))
