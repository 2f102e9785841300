"""The Spark engine's side of a build, without Dagster: dbt's environment for a Spark build, and
its tables (Parquet folders under the Spark warehouse directory) read back by DuckDB.

A Spark build writes every model as a Parquet table `<warehouse>/<schema>.db/<table>/`
(partitioned models in `<column>=<value>/` folders). The identity step reads the evidence from
there, and publishing copies the schemas it publishes into the build's DuckDB file, so the
published surfaces (DuckDB file, Parquet exports, PostgreSQL) are made by the same code as after
a DuckDB build (docs/scale-out.md).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import polars as pl

DEFAULT_MASTER = "local[2]"


def spark_environment(spark_dir: Path, master: str | None = None) -> dict[str, str]:
    """The variables the profile's `spark` target reads (dbt_project/profiles.yml): the
    warehouse and Derby metastore under `spark_dir` (absolute), the master (`local[2]` by
    default; a cluster URL in production)."""
    spark_dir = spark_dir.absolute()
    spark_dir.mkdir(parents=True, exist_ok=True)
    return {
        "JOURNEY_DBT_TARGET": "spark",
        "JOURNEY_SPARK_MASTER": master or DEFAULT_MASTER,
        "JOURNEY_SPARK_WAREHOUSE_DIR": str(spark_dir / "warehouse"),
        "JOURNEY_SPARK_METASTORE_DIR": str(spark_dir),
    }


def table_dir(warehouse_dir: Path, schema: str, table: str) -> Path:
    """Where Spark keeps a managed table of the default catalog."""
    return warehouse_dir / f"{schema}.db" / table


def _scan(folder: Path) -> str:
    files = f"{folder}/**/*.parquet"
    return f"read_parquet('{files}', hive_partitioning = true, union_by_name = true)"


ENGINE_COLUMNS = frozenset({"_group_bucket"})
"""Partition columns only Spark's tables have (macros/incremental.sql: the hash bucket an
incremental model overwrites); not part of the published tables."""


def _naive_utc(con: duckdb.DuckDBPyConnection, scan: str) -> str:
    """Spark's timestamps are instants (Parquet UTC-adjusted); the DuckDB build's are naive
    UTC. The select list that converts them back (Spark's partition columns left out)."""
    columns = con.sql(f"describe select * from {scan}").fetchall()
    return ", ".join(
        f'timezone(\'UTC\', "{name}") as "{name}"'
        if kind == "TIMESTAMP WITH TIME ZONE"
        else f'"{name}"'
        for name, kind, *_ in columns
        if name not in ENGINE_COLUMNS
    )


def read_table(warehouse_dir: Path, schema: str, table: str) -> pl.DataFrame:
    """A table of a Spark build as a Polars frame (timestamps naive UTC, as DuckDB's)."""
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        scan = _scan(table_dir(warehouse_dir, schema, table))
        return con.sql(f"select {_naive_utc(con, scan)} from {scan}").pl()


def copy_to_duckdb(
    warehouse_dir: Path, database: Path, schemas: tuple[str, ...] | None = None
) -> list[str]:
    """Copy every table of `schemas` (default: every schema holding tables) of a Spark build
    into the DuckDB file `database` (created or replaced table by table; a table without any
    Parquet file is copied empty, its columns read from the Spark catalog: _copy_empty_tables);
    returns the `schema.table` names copied. Tables only: views (dbt's stored test failures)
    stay in Spark."""
    if schemas is None:
        schemas = tuple(
            sorted(p.name.removesuffix(".db") for p in warehouse_dir.glob("*.db") if p.is_dir())
        )
    copied: list[str] = []
    empty: list[tuple[str, str]] = []
    with duckdb.connect(str(database)) as con:
        con.execute("set TimeZone = 'UTC'")
        for schema in schemas:
            folder = warehouse_dir / f"{schema}.db"
            if not folder.is_dir():
                continue
            con.execute(f'create schema if not exists "{schema}"')
            for table in sorted(p for p in folder.iterdir() if p.is_dir()):
                if not any(table.rglob("*.parquet")):
                    empty.append((schema, table.name))
                    continue
                scan = _scan(table)
                con.execute(
                    f'create or replace table "{schema}"."{table.name}" as '
                    f"select {_naive_utc(con, scan)} from {scan}"
                )
                copied.append(f"{schema}.{table.name}")
        copied += _copy_empty_tables(con, warehouse_dir, empty)
    return copied


def _copy_empty_tables(
    con: duckdb.DuckDBPyConnection, warehouse_dir: Path, tables: list[tuple[str, str]]
) -> list[str]:
    """Tables without a Parquet file: a partitioned Spark table with no row has no file (and
    no partition folder) to read its columns from — a shop that never used a discount code, a
    night that emptied every bucket. Spark writes each as an empty Parquet file with the
    table's columns (read from its catalog, the Derby metastore next to `warehouse_dir` as
    dbt's `spark` target keeps it), copied like any other table: an empty table with the
    build's columns and types, rather than a missing table or, on a later night, the rows an
    earlier copy left. The Spark session runs in a child process (only when such a table
    exists): an embedded Derby stays locked by the JVM that opened it, and the next dbt
    invocation must open it."""
    if not tables:
        return []
    names = [f"{schema}.{table}" for schema, table in tables]
    with tempfile.TemporaryDirectory(prefix="journey-empty-tables-") as folder:
        command = [sys.executable, "-m", "pipelines.spark.tables", str(warehouse_dir), folder]
        done = subprocess.run([*command, *names], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"reading the columns of the empty Spark tables {', '.join(names)} failed "
                f"(exit {done.returncode}):\n{done.stderr[-4000:]}"
            )
        for schema, table in tables:
            scan = _scan(Path(folder) / f"{schema}.{table}")
            con.execute(
                f'create or replace table "{schema}"."{table}" as '
                f"select {_naive_utc(con, scan)} from {scan}"
            )
    return names


def write_empty_tables(warehouse_dir: Path, folder: Path, names: list[str]) -> None:
    """Write each Spark table of `names` (`schema.table`) as an empty Parquet folder
    `folder/<name>` with its columns (Spark's partition columns left out)."""
    from pyspark.sql import SparkSession

    warehouse_dir = warehouse_dir.absolute()
    spark = (
        SparkSession.builder.enableHiveSupport()
        .master("local[1]")
        .appName("journey-empty-tables")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.warehouse.dir", str(warehouse_dir))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse_dir.parent}")
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={warehouse_dir.parent}/metastore_db;create=true",
        )
        .getOrCreate()
    )
    try:
        for name in names:
            schema, table = name.split(".", 1)
            frame = spark.table(f"`{schema}`.`{table}`")
            frame = frame.drop(*[c for c in frame.columns if c in ENGINE_COLUMNS])
            frame.limit(0).write.mode("overwrite").parquet(str(folder / name))
    finally:
        spark.stop()


if __name__ == "__main__":
    write_empty_tables(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
