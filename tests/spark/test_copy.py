"""A Spark build's tables copied into the build's DuckDB file (`copy_to_duckdb`), including the
tables a partitioned Spark table leaves without any Parquet file: no row on a first night (a
shop that never used a discount code), or every bucket dropped on a later night. Those must be
copied as empty tables with the build's columns and types — not be missing from the published
file, nor keep the rows an earlier night's copy left."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.spark.tables import copy_to_duckdb

pytestmark = [pytest.mark.spark, pytest.mark.timeout(900)]

COLUMNS = """
    cast(id as string) as id,
    cast(id as bigint) as big,
    cast(id as int) as small,
    cast(id / 4 as decimal(18, 2)) as amount,
    cast(id / 3 as double) as share,
    id % 2 = 0 as even,
    timestamp'2026-06-15 10:30:00' as at,
    date'2026-06-15' as day,
    array(cast(id as string), 'x') as tags,
    named_struct('code', 'A', 'count', id) as detail,
    cast(id % 4 as int) as _group_bucket
"""


def _describe(database: Path, table: str) -> list[tuple[str, str]]:
    with duckdb.connect(str(database), read_only=True) as con:
        return [(row[0], row[1]) for row in con.sql(f"describe {table}").fetchall()]


def _count(database: Path, table: str) -> int:
    with duckdb.connect(str(database), read_only=True) as con:
        row = con.sql(f"select count(*) from {table}").fetchone()
        assert row is not None
        return row[0]


SESSION = """
import sys
from pyspark.sql import SparkSession

spark_dir = sys.argv[1]
spark = (
    SparkSession.builder.enableHiveSupport()
    .master("local[1]")
    .config("spark.ui.enabled", "false")
    .config("spark.sql.session.timeZone", "UTC")
    .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
    .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    .config("spark.sql.warehouse.dir", f"{spark_dir}/warehouse")
    .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={spark_dir}")
    .config(
        "spark.hadoop.javax.jdo.option.ConnectionURL",
        f"jdbc:derby:;databaseName={spark_dir}/metastore_db;create=true",
    )
    .getOrCreate()
)
for statement in sys.argv[2:]:
    spark.sql(statement)
spark.stop()
"""


def _spark_sql(spark_dir: Path, *statements: str) -> None:
    """Statements in a Spark session of a process of their own, with the catalog dbt's `spark`
    target keeps (Hive, an embedded Derby under `spark_dir`), as each dbt invocation runs: an
    embedded Derby stays locked by the JVM that opened it until that process ends."""
    command = [sys.executable, "-c", SESSION, str(spark_dir), *statements]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


def test_tables_without_a_parquet_file_are_copied_empty_with_their_columns(
    tmp_path: Path,
) -> None:
    spark_dir = tmp_path / "spark"
    warehouse, database = spark_dir / "warehouse", tmp_path / "build.duckdb"
    _spark_sql(
        spark_dir,
        "create schema marts",
        *(
            f"create table marts.{table} using parquet partitioned by (_group_bucket) as "
            f"select {COLUMNS} from range(1, 9) where {where}"
            for table, where in (("filled", "true"), ("emptied", "true"), ("never", "false"))
        ),
    )

    # night 1: every table is copied; `never` has no Parquet file at all
    assert not any((warehouse / "marts.db" / "never").rglob("*.parquet"))
    assert sorted(copy_to_duckdb(warehouse, database, ("marts",))) == [
        "marts.emptied",
        "marts.filled",
        "marts.never",
    ]
    filled = _describe(database, "marts.filled")
    assert ("_group_bucket", "INTEGER") not in filled
    assert dict(filled)["at"] == "TIMESTAMP" and dict(filled)["amount"] == "DECIMAL(18,2)"
    assert _describe(database, "marts.never") == filled
    assert _count(database, "marts.filled") == 8 and _count(database, "marts.never") == 0

    # night 2: every bucket of `emptied` dropped (as drop_affected_buckets does), the rest kept
    # (in a process of its own, as the next dbt invocation: the copy must leave the catalog
    # unlocked)
    _spark_sql(
        spark_dir,
        "alter table marts.emptied drop if exists "
        + ", ".join(f"partition (_group_bucket = {bucket})" for bucket in range(4)),
    )
    assert not any((warehouse / "marts.db" / "emptied").rglob("*.parquet"))
    copy_to_duckdb(warehouse, database, ("marts",))
    assert _count(database, "marts.emptied") == 0  # not night 1's 8 rows
    assert _describe(database, "marts.emptied") == filled
    assert _count(database, "marts.filled") == 8
