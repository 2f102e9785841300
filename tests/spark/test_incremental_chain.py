"""On Spark, a chain of incremental nights where person ids vanish publishes what a full refresh
publishes (issue 22, the Spark branch of issue 17's incremental models).

Spark's incremental models overwrite hash buckets (`insert_overwrite` of `_group_bucket`,
macros/incremental.sql); a dynamic partition overwrite replaces only the buckets the night's
select has rows for. The person-grain models (int_touchpoints_phased, int_journey_phase_spells,
fct_touchpoints, fct_attribution, dim_persons) therefore first drop the buckets of every
affected person (drop_affected_buckets): a bucket that holds only ids gone tonight (merged into
another person, erased) gets no row and would otherwise keep its old rows.

One small generated dataset, landed as two nights (mid-period, then the end keeping only the
versions the first night had not landed: tests/dbt/conftest.py's `keep_only_new_versions`), the
second night erasing one person (`erasure_for_one_person`) and merging persons, built on Spark
night after night (ChainWarehouse: the person-grain models and what they read). The full refresh
is the same landing and models built in one go on DuckDB with the identity tables of the chain's
last night: every table of `marts` and `identity` they build must be equal row for row (doubles
to 1e-9; the cross-engine test holds the two engines' full builds to each other). The test also shows that the chain had a bucket holding
only vanished ids, and that it is gone from the Spark table after the second night.

The record-children staging models (an order's shipping lines and discount codes,
record_children_config) overwrite the buckets of changed orders: between the nights one order
loses its only discount code (`update_one_order_between_nights`), and its bucket of
stg_shopify__order_discount_codes held only that order, so only dropping the changed records'
buckets (drop_changed_records_buckets) removes the first night's row.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from devkit.demo.generator import generate
from pipelines.spark.tables import copy_to_duckdb, table_dir
from tests.dbt.conftest import (
    MID_PERIOD,
    erasure_for_one_person,
    keep_only_new_versions,
    update_one_order_between_nights,
)
from tests.dbt.harness import PRE_IDENTITY, Warehouse
from tests.spark.harness import PUBLISHED_SCHEMAS, SparkWarehouse
from tests.spark.test_cross_engine import _differences, _tables

pytestmark = [
    pytest.mark.spark,
    # two Spark nights (~70 dbt nodes each, a Spark job per statement) on 2 shared cores: at
    # load average ~25 the first night alone took more than 3600 s (timeout counts the fixture)
    pytest.mark.timeout(7200),
]

PERSONS = 50  # the generator's minimum: the cost is per dbt node, not per row
SEED = 5
PERSON_GRAIN = (
    ("intermediate", "int_touchpoints_phased", "person_group"),
    ("intermediate", "int_journey_phase_spells", "person_id"),
    ("marts", "fct_touchpoints", "person_id"),
    ("marts", "fct_attribution", "person_id"),
    ("marts", "dim_persons", "person_id"),
)
"""The models of affected_groups_config / affected_persons_config and their group column."""
AFTER_IDENTITY = (
    "+fct_touchpoints +fct_attribution +dim_persons +int_journey_phase_spells "
    "int_record_states_kept identity_record_persons"
)
"""What a night builds after the identity step: the person-grain models, what they read, and
the record states the next night compares with (a Spark model costs ~10-30 s whatever its
rows, so the marts that only read these are left out; the cross-engine test builds them)."""
ORDER_CHILDREN = ("stg_shopify__order_discount_codes", "stg_shopify__order_shipping_lines")
"""The record-children models (record_children_config), compared with the full refresh too."""
TABLES_ONLY = ("--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")
RECORD_PERSONS = (
    "select source, stream, record_id, person_id from identity.identity_record_persons "
    "where person_id is not null"
)


def _buckets(spark: SparkWarehouse, schema: str, table: str, key: str) -> pl.DataFrame:
    """(group, bucket) of every row of a Spark table, read from its partition folders."""
    folder = table_dir(spark.spark_dir / "warehouse", schema, table)
    with duckdb.connect() as con:
        return con.sql(
            f"select distinct {key} as person_group, _group_bucket "
            f"from read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"
        ).pl()


class ChainWarehouse(SparkWarehouse):
    """A night on Spark as the harness builds it, but only the models the comparison needs, and
    identities stitched on one machine (Warehouse.stitch_identities on the Spark build's
    evidence): this test is about the dbt models; tests/spark/test_identity.py holds the Spark
    identity step to the one-machine stitch."""

    def night(self, run_id: str, erasures: pl.DataFrame | None = None) -> None:
        self.dbt("build", "--select", PRE_IDENTITY, *TABLES_ONLY)
        self.database.parent.mkdir(parents=True, exist_ok=True)
        copy_to_duckdb(self.spark_dir / "warehouse", self.database, ("staging", "intermediate"))
        Warehouse.stitch_identities(self, run_id, erasures=erasures)
        self.dbt("build", "--select", AFTER_IDENTITY, "--exclude", PRE_IDENTITY, *TABLES_ONLY)
        copy_to_duckdb(self.spark_dir / "warehouse", self.database, PUBLISHED_SCHEMAS)


class Chain:
    def __init__(self, root: Path) -> None:
        dataset = root / "dataset"
        generate(dataset, persons=PERSONS, seed=SEED)
        self.order_id = update_one_order_between_nights(dataset, only_discount_code=True)
        self.erased_person_key, erasures = erasure_for_one_person(dataset)
        self.spark = ChainWarehouse(root / "spark")
        self.spark.land(dataset, "run-1", as_of=MID_PERIOD)
        self.spark.night("run-1")
        self.first_night = {t: _buckets(self.spark, *t) for t in PERSON_GRAIN}
        self.first_record_persons = self.spark.query(RECORD_PERSONS)
        self.first_codes = _buckets(
            self.spark, "staging", "stg_shopify__order_discount_codes", "order_id"
        )
        self.spark.land(dataset, "run-2")
        keep_only_new_versions(self.spark.landing_dir, ["run-1"], "run-2")
        self.spark.night("run-2", erasures=erasures)
        self.second_night = {t: _buckets(self.spark, *t) for t in PERSON_GRAIN}
        self.second_record_persons = self.spark.query(RECORD_PERSONS)
        # the full refresh: the same landing and the last night's identity tables, on DuckDB
        self.full = Warehouse(root / "duckdb")
        shutil.copytree(self.spark.root / "data", self.full.root / "data")
        shutil.copytree(self.spark.identity_dir, self.full.identity_dir)
        self.full.dbt("build", "--select", f"{PRE_IDENTITY} {AFTER_IDENTITY}", *TABLES_ONLY)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    return Chain(tmp_path_factory.mktemp("spark-chain"))


def test_a_spark_chain_with_vanished_ids_publishes_what_a_full_refresh_publishes(
    chain: Chain,
) -> None:
    full, spark = _tables(chain.full.database), _tables(chain.spark.database)
    assert sorted(spark) == sorted(full)
    assert full["marts.fct_attribution"].height > 0
    problems = [
        problem
        for table in sorted(full)
        for problem in _differences(table, full[table], spark[table])
    ]
    assert problems == []


def test_the_chain_empties_buckets_that_hold_only_vanished_ids(chain: Chain) -> None:
    # The second night merged persons (a person holds records of several of the first night's)
    # and erased one: ids of the first night vanished.
    pairs = chain.first_record_persons.join(
        chain.second_record_persons, on=["source", "stream", "record_id"], suffix="_now"
    )
    merged = (
        pairs.group_by("person_id_now")
        .agg(pl.col("person_id").n_unique())
        .filter(pl.col("person_id") > 1)
    )
    vanished = (
        chain.first_record_persons.select("person_id")
        .unique()
        .join(chain.second_record_persons.select("person_id"), on="person_id", how="anti")
    )
    assert merged.height > 0 and vanished.height > merged.height, (merged, vanished)
    # No row of a vanished id is left in a person-grain model; buckets the first night had and
    # the second has not were emptied (they held only vanished groups): the chain has some.
    emptied = {}
    for model, first in chain.first_night.items():
        second = chain.second_night[model]
        left = second.join(vanished, left_on="person_group", right_on="person_id")
        assert left.is_empty(), (model, left)
        emptied[model[1]] = first.join(second, on="_group_bucket", how="anti")["_group_bucket"]
    assert emptied["dim_persons"].len() > 0 and emptied["fct_touchpoints"].len() > 0, emptied


def test_an_order_alone_in_its_bucket_loses_its_only_discount_code_on_spark(chain: Chain) -> None:
    # The first night's discount codes: the updated order's bucket held that order alone.
    first = chain.first_codes
    bucket = first.filter(pl.col("person_group") == chain.order_id)["_group_bucket"]
    assert bucket.len() == 1, first
    assert first.filter(pl.col("_group_bucket") == bucket.item()).height == 1, first
    for model in ORDER_CHILDREN:
        sql = f"select * from staging.{model}"
        full, spark = chain.full.query(sql), chain.spark.query(sql)
        assert full.height > 0
        assert _differences(model, full, spark) == []
    codes = chain.spark.query("select order_id from staging.stg_shopify__order_discount_codes")
    assert chain.order_id not in codes["order_id"].to_list()
