"""A nightly run on Spark through Dagster publishes what the DuckDB engine publishes (issue 22).

tests/spark/* build on Spark with a harness that calls dbt directly; here the real nightly job
runs with `JOURNEY_ENGINE=spark`: the landing over HTTP, dbt 1/2 on Spark, the identity step
on Spark, dbt 2/2 on Spark, the copy of the Spark tables into the build's DuckDB file
(`copy_to_duckdb`), the quality checks and the publish. One dataset (50 persons, the
generator's minimum, seed 5): `make demo` lands it and publishes it on DuckDB, then a Spark
night over the same landing (nothing new is served) publishes it again. Every published table
of `marts` and `identity` must be the same, row for row (tests/spark/test_cross_engine.py's
comparison: doubles to 1e-9, person ids included; only the identity step's wall-clock
`merged_at` / `split_at` are left out). The night must leave no marker of an unfinished night
(`pipelines/spark/night.py`) behind.
"""

from __future__ import annotations

import json
import time

import pytest

from pipelines.settings import temporary_environment
from pipelines.spark import night
from tests.e2e.conftest import Outcome, Pipeline, pipeline
from tests.spark.test_cross_engine import PERSONS, SEED, assert_same_tables

pytestmark = [
    pytest.mark.spark,
    pytest.mark.e2e,
    # `make demo` on DuckDB (~12 min here), then a Spark night of ~410 dbt nodes (a Spark job
    # per model and per data test) and `dbt docs generate` over the Spark catalog: ~32 min at
    # load 6-8 on 2 shared cores; the module took 44 min
    pytest.mark.timeout(5400),
]

SPARK = {"JOURNEY_ENGINE": "spark"}


def _spark_night(run: Pipeline) -> tuple[Outcome, str, float]:
    """A night of the last demo day on Spark: its outcome, run id and wall seconds."""
    started = time.monotonic()
    with temporary_environment(SPARK):
        assert run.settings.engine == "spark"
        outcome = run.run()
    report = outcome.report
    assert outcome.success, outcome.report_path.with_suffix(".md").read_text()
    return outcome, report["run_id"], time.monotonic() - started


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with pipeline(tmp_path_factory.mktemp("spark-night"), persons=PERSONS, seed=SEED) as run:
        assert run.demo_exit_code == 0, "\n".join(line for _, line in run.demo_output[-40:])
        assert run.settings.engine == "duckdb"
        yield run, run.contents()


@pytest.fixture(scope="module")
def first_spark_night(demo):
    run, _ = demo
    outcome, run_id, seconds = _spark_night(run)
    print(f"first Spark night: {seconds:.0f} s")
    return outcome, run_id, run.contents()


def test_a_spark_night_publishes_the_tables_duckdb_published(demo, first_spark_night):
    run, duck = demo
    outcome, _, spark = first_spark_night
    report = outcome.report
    assert report["published"] is True and report["full_refresh"] is False
    assert report["checks"]["failed"] == 0 and report["checks"]["passed"] > 100
    assert run.settings.warehouse_path.exists()
    assert run.query("select count(*) as n from marts.dim_persons")["n"][0] > 0
    # the night finished: no marker forces the next one to rebuild
    with temporary_environment(SPARK):
        spark_dir = run.settings.spark_dir
    assert (spark_dir / "warehouse").is_dir()
    assert not (spark_dir / night.MARKER).exists()
    # the dbt docs of a Spark night read the catalog of the build's DuckDB copy (one query, the
    # relations analysts query), with every published model's columns
    catalog = json.loads(
        (run.settings.build_dir / "dbt_target" / "docs_duckdb" / "catalog.json").read_text()
    )
    columns = catalog["nodes"]["model.journey_warehouse.fct_touchpoints"]["columns"]
    assert (
        "person_id" in columns
        and catalog["nodes"]["model.journey_warehouse.fct_touchpoints"]["metadata"]["schema"]
        == "marts"
    )
    assert (run.settings.docs_dir / "dbt" / "index.html").stat().st_size > 100_000
    assert_same_tables(duck, spark)
