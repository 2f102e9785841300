"""The same demo warehouse built on DuckDB and on Spark publishes the same tables (issue 22).

One small generated dataset is landed once per engine and built as the nightly job builds it
(models before identity, the identity step, the rest): on DuckDB by `tests/dbt/harness.py`, on
Spark (dbt-spark `method: session`, `local[2]`) by `tests/spark/harness.py`. Every table of the
published schemas (`marts`, `identity`) must hold the same rows on both, identity person ids
included; doubles agree to 1e-9 (relative), everything else exactly. Only the identity step's
wall-clock columns differ by design. Marked `spark` (deselect locally with `-m "not spark"`); it
runs in `make test`.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import polars as pl
import pytest

from devkit.demo.generator import generate
from tests.dbt.harness import Warehouse
from tests.spark.harness import PUBLISHED_SCHEMAS, SparkWarehouse

pytestmark = [
    pytest.mark.spark,
    # two Spark sessions and ~80 dbt nodes, each a Spark job: ~10 min on 2 shared cores under
    # load, more than the suite's 900 s per test (timeout counts the fixture's builds)
    pytest.mark.timeout(2400),
]

PERSONS = 50  # the generator's minimum: the cost is per dbt node, not per row
SEED = 5
VOLATILE = frozenset({"merged_at", "split_at"})
"""When the identity step ran, not what it computed (as tests/dbt/published.py)."""
FLOATS = (pl.Float32, pl.Float64)


def _tables(database: Path) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(database), read_only=True) as con:
        names = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            f"where table_schema in {PUBLISHED_SCHEMAS} and table_type = 'BASE TABLE'"
        ).fetchall()
        return {name: con.sql(f"select * from {name}").pl() for (name,) in names}


def _canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Values comparable across engines: floats as floats, everything else as text (a Spark
    INT and a DuckDB INTEGER, or two DECIMAL(18, 2), print alike), rows in one order."""
    kept = [name for name in frame.columns if name not in VOLATILE]
    frame = frame.select(
        pl.col(name).cast(pl.Float64)
        if frame.schema[name] in FLOATS
        else pl.col(name).cast(pl.String)
        for name in kept
    )
    keys = [name for name in kept if frame.schema[name] != pl.Float64] or kept
    return frame.sort(keys + [n for n in kept if n not in keys], nulls_last=True)


def _differences(table: str, duck: pl.DataFrame, spark: pl.DataFrame) -> list[str]:
    if sorted(duck.columns) != sorted(spark.columns):
        return [f"{table}: columns {duck.columns} vs {spark.columns}"]
    duck, spark = _canonical(duck), _canonical(spark.select(duck.columns))
    if duck.height != spark.height:
        return [f"{table}: {duck.height} rows on DuckDB, {spark.height} on Spark"]
    problems = []
    for name in duck.columns:
        left, right = duck[name].to_list(), spark[name].to_list()
        if duck.schema[name] == pl.Float64:
            bad = [
                (a, b)
                for a, b in zip(left, right, strict=True)
                if (a is None) != (b is None)
                or (a is not None and not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9))
            ]
        else:
            bad = [(a, b) for a, b in zip(left, right, strict=True) if a != b]
        if bad:
            problems.append(f"{table}.{name}: {len(bad)} rows differ, e.g. {bad[:3]}")
    return problems


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, Warehouse]:
    root = tmp_path_factory.mktemp("cross-engine")
    dataset = root / "dataset"
    generate(dataset, persons=PERSONS, seed=SEED)
    duck, spark = Warehouse(root / "duckdb"), SparkWarehouse(root / "spark")
    for warehouse in (duck, spark):
        warehouse.land(dataset, "run-1")
    # the tables only: data tests are checked on DuckDB by tests/dbt (a Spark job each)
    duck.build("run-1", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")
    spark.build("run-1", tests=False)
    return duck, spark


def assert_same_tables(duck: dict[str, pl.DataFrame], spark: dict[str, pl.DataFrame]) -> None:
    """Every published table of a DuckDB and a Spark publish equal, row for row (and the
    comparison not vacuous: the tables are there, attribution and identity have rows)."""
    assert sorted(spark) == sorted(duck)
    assert len(duck) > 25
    assert duck["marts.fct_attribution"].height > 0
    assert duck["identity.identity_map"].height > 0
    problems = [
        problem
        for table in sorted(duck)
        for problem in _differences(table, duck[table], spark[table])
    ]
    assert problems == []


def test_spark_publishes_the_same_tables_as_duckdb(builds: tuple[Warehouse, Warehouse]) -> None:
    duck, spark = builds
    assert_same_tables(_tables(duck.database), _tables(spark.database))
