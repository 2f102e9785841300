"""Two warehouses built from one generated dataset, shared by the tests.

`vendor_built` (the vendor path): a chain of nights. Load 1 lands the vendor dataset as the
sandbox serves it mid-period and is built in full; loads 2 and 3 land it later in the period and
at its end, each keeping only the versions earlier loads did not land (what cursor-based
extraction delivers: new records, updated records, late events of earlier days), and each is
built incrementally. Identities come from the real Polars stitching step; load 3 also erases
one person, so suppression is exercised. After the chain, every published table (schemas marts
and identity) is copied, then the models are rebuilt with `--full-refresh` for the row-for-row
comparison in test_incremental.py.

`drop_built` (the file-drop path): the same dataset's vendor records written as canonical
file drops (tests/dbt/drop_export.py), landed by the real `filedrop` extraction, built once with
the same erasure. Its touchpoints are also offered under the ground truth's record keys
(`truth_keys.fct_touchpoints`, through the converter's record map), so the tests compare both
paths with the same SQL: a test asking for `built` runs on both, one asking for `vendor_built`
only on the vendor path.

Each warehouse is built once per test run: under pytest-xdist the first worker that needs it
builds it (under a file lock) into a folder all workers share; the others wait and reuse it.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from devkit.demo import truth as demo_truth
from devkit.demo.generator import generate
from devkit.vendor_dataset import keep_only_new_versions, vendor_stream_path
from tests.dbt.drop_export import write_drops
from tests.dbt.harness import Warehouse

PERSONS = 400
SEED = 11
MID_PERIOD = datetime(2026, 6, 15, tzinfo=UTC)
LATE_PERIOD = datetime(2026, 8, 20, 18, 30, tzinfo=UTC)
CHAIN = (("run-1", MID_PERIOD), ("run-2", LATE_PERIOD), ("run-3", None))
"""The nights of the vendor path: run id and the moment the vendors are read (None: the end)."""
INCREMENTAL_COPY = "incremental_copy"
"""Schema holding the published tables as the incremental chain left them."""
INCREMENTAL_CHILDREN = (
    "stg_shopify__order_lines",
    "stg_shopify__refunds",
    "stg_shopify__order_shipping_lines",
    "stg_shopify__order_discount_codes",
)
"""Incremental staging models whose changes no published table shows in full (an order's
lines reach fct_orders only through fallbacks, a shipping line's title nowhere), kept as the
chain left them (schema INCREMENTAL_COPY, named `staging__<model>`) and compared with the full
refresh too."""
EARLIER_DISCOUNT_CODE = {"code": "EARLYBIRD", "amount": "1.00", "type": "percentage"}
"""The discount code the updated order's earlier versions carry and its final version lacks."""
EARLIER_SHIPPING_TITLE = "Express (changed later)"
"""The title of the updated order's shipping line in its earlier versions."""
CHAIN_IDENTITIES = "chain_identities"
"""Schema holding each night's record → person mapping (`record_persons_<night>`), so a test can
show that person ids moved between nights (merges, splits) in the chain it compares."""
BUILDS = ("vendor", "drop")
# Touchpoints of Matomo action types a page-view file drop has no way to say (contracts §4)
DROP_PATH_UNSUPPORTED_TOUCHPOINTS = ("site_search", "download")


def erasure_for_one_person(dataset: Path) -> tuple[str, pl.DataFrame]:
    """A person with an email, at least one order and no referral, erased by their email."""
    touchpoints = pl.read_parquet(dataset / "truth" / "touchpoints.parquet")
    identities = pl.read_parquet(dataset / "truth" / "identities.parquet")
    buyers = touchpoints.filter(pl.col("touchpoint_type") == "order").select("person_key").unique()
    referrers = touchpoints.filter(pl.col("touchpoint_type") == "referral").select("person_key")
    emails = identities.filter(pl.col("identifier_kind") == "email")
    candidate = (
        emails.join(buyers, on="person_key")
        .join(referrers, on="person_key", how="anti")
        .sort("person_key", "identifier_value")
        .row(0, named=True)
    )
    erasures = pl.DataFrame(
        {
            "identifier_kind": ["email"],
            "identifier_value": [candidate["identifier_value"]],
            "requested_at": [datetime(2026, 10, 1)],
        }
    )
    return candidate["person_key"], erasures


def update_one_order_between_nights(dataset: Path, only_discount_code: bool = False) -> str:
    """Make one Shopify order change every child between the first two nights: gain a line
    item and a refund, lose its only discount code, retitle its shipping line.

    The demo refunds orders weeks after they were placed, but within one night of the chain
    at this size. The first order whose last version (with a refund, more than one line, no
    discount code) is served before the first night has that version served after it instead
    (between the first two nights), and its earlier versions lose their last line item, gain a
    discount code (EARLIER_DISCOUNT_CODE) and carry another shipping title: the first night
    lands the order with one line fewer, no refund, a discount code and the other title, the
    second its final version — whose new rows hold no discount code, so only deleting the
    order's old rows removes the first night's. The order's final version, hence every ground
    truth, is unchanged. `only_discount_code`: the order needs no refund, second line or
    shipping line, and only loses its discount code (the smallest datasets have no order with
    all of them). Returns the order's id."""
    path = vendor_stream_path(dataset, "shopify", "orders")
    orders = pl.read_parquet(path)
    has_refund = pl.col("record").str.json_path_match("$.refunds[0].id").is_not_null()
    has_two_lines = pl.col("record").str.json_path_match("$.line_items[1].id").is_not_null()
    has_code = pl.col("record").str.json_path_match("$.discount_codes[0].code").is_not_null()
    has_shipping = pl.col("record").str.json_path_match("$.shipping_lines[0].id").is_not_null()
    last = pl.col("updated_at") == pl.col("updated_at").max().over("record_id")
    every_child = pl.lit(only_discount_code) | (has_refund & has_two_lines & has_shipping)
    order_id = (
        orders.filter(
            last & every_child & ~has_code,
            pl.col("updated_at") <= MID_PERIOD,
            pl.len().over("record_id") > 1,
        )
        .get_column("record_id")
        .sort()
        .item(0)
    )

    def earlier(record: str) -> str:
        order = json.loads(record)
        order["discount_codes"] = [EARLIER_DISCOUNT_CODE]
        if not only_discount_code:
            order["line_items"] = order["line_items"][:-1]
            order["shipping_lines"][0]["title"] = EARLIER_SHIPPING_TITLE
        return json.dumps(order)

    is_order = pl.col("record_id") == order_id
    orders.with_columns(
        updated_at=pl.when(is_order & last)
        .then(pl.lit(MID_PERIOD + timedelta(days=1)).cast(orders.schema["updated_at"]))
        .otherwise(pl.col("updated_at")),
        record=pl.when(is_order & ~last)
        .then(pl.col("record").map_elements(earlier, return_dtype=pl.String))
        .otherwise(pl.col("record")),
    ).write_parquet(path)
    return order_id


def drop_path_truth(dataset: Path, out: Path) -> None:
    """The ground truth the file-drop path can reach: the dataset's, without the touchpoints of
    action types a page-view export cannot carry, and phase spells recomputed without them."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("identities", "sessions", "orders"):
        shutil.copy(dataset / "truth" / f"{name}.parquet", out / f"{name}.parquet")
    touchpoints = pl.read_parquet(dataset / "truth" / "touchpoints.parquet").filter(
        ~pl.col("touchpoint_type").is_in(DROP_PATH_UNSUPPORTED_TOUCHPOINTS)
    )
    touchpoints.write_parquet(out / "touchpoints.parquet")
    compact = touchpoints.select(
        person=pl.col("person_key").str.strip_prefix("p-").cast(pl.Int64),
        occurred_at=pl.col("occurred_at").dt.epoch("s"),
        phase=pl.col("phase").cast(demo_truth.PHASES),
    )
    demo_truth.phases(compact).write_parquet(out / "phases.parquet")


class BuiltWarehouse:
    def __init__(
        self,
        warehouse: Warehouse,
        dataset: Path,
        erased_person_key: str,
        landed: list,
        touchpoints: str = "marts.fct_touchpoints",
        truth_dir: Path | None = None,
    ):
        self.warehouse = warehouse
        self.dataset = dataset
        self.truth_dir = truth_dir or dataset / "truth"
        self.erased_person_key = erased_person_key
        self.landed = landed
        self.touchpoints = touchpoints
        """fct_touchpoints with the ground truth's (source, stream, record_id)."""

    def query(self, sql: str) -> pl.DataFrame:
        return self.warehouse.query(sql)

    def truth(self, name: str) -> str:
        return f"read_parquet('{self.truth_dir / name}.parquet')"


def built_once(
    tmp_path_factory: pytest.TempPathFactory,
    worker_id: str,
    name: str,
    build: Callable[[Path], dict],
) -> tuple[Path, dict]:
    """`build(root)` once per test run; returns the root and build's (JSON) result."""
    if worker_id == "master":
        root = tmp_path_factory.mktemp(name)
        return root, build(root)
    shared = tmp_path_factory.getbasetemp().parent
    root, result = shared / name, shared / f"{name}.json"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            shutil.rmtree(root, ignore_errors=True)  # a failed attempt of another worker
            root.mkdir()
            result.write_text(json.dumps(build(root), default=str))
    return root, json.loads(result.read_text())


def build_vendor_path(root: Path) -> dict:
    dataset = root / "dataset"
    generate(dataset, persons=PERSONS, seed=SEED)
    erased_person_key, erasures = erasure_for_one_person(dataset)
    update_one_order_between_nights(dataset)

    warehouse = Warehouse(root / "warehouse")
    landed = []
    for night, (run_id, as_of) in enumerate(CHAIN):
        landed.append(warehouse.land(dataset, run_id, as_of=as_of))
        if night == 0:
            warehouse.build(run_id)
        else:
            keep_only_new_versions(warehouse.landing_dir, [run for run, _ in CHAIN[:night]], run_id)
            last = night == len(CHAIN) - 1
            warehouse.build(run_id, erasures=erasures if last else None)
        with duckdb.connect(str(warehouse.database)) as con:
            con.sql(f"create schema if not exists {CHAIN_IDENTITIES}")
            con.sql(
                f"create table {CHAIN_IDENTITIES}.record_persons_{night} as "
                "select source, stream, record_id, person_id from identity.identity_record_persons"
            )

    with duckdb.connect(str(warehouse.database)) as con:
        con.sql(f"create schema if not exists {INCREMENTAL_COPY}")
        for schema, table in published_tables(con):
            con.sql(
                f"create table {INCREMENTAL_COPY}.{schema}__{table} as select * from {schema}.{table}"
            )
        for table in INCREMENTAL_CHILDREN:
            con.sql(
                f"create table {INCREMENTAL_COPY}.staging__{table} as select * from staging.{table}"
            )
    # every model, staging included (incremental ones there too); identities stay as stitched
    warehouse.dbt("build", "--full-refresh")
    return {"erased_person_key": erased_person_key, "landed": landed}


def published_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(schema, table) of every table the publish step exposes (schemas marts and identity)."""
    return con.execute(
        "select schema_name, table_name from duckdb_tables() "
        "where schema_name in ('marts', 'identity') order by 1, 2"
    ).fetchall()


def build_drop_path(root: Path) -> dict:
    dataset = root / "dataset"
    generate(dataset, persons=PERSONS, seed=SEED)
    erased_person_key, erasures = erasure_for_one_person(dataset)
    record_map = write_drops(dataset, root / "drops")
    drop_path_truth(dataset, root / "drop_truth")

    warehouse = Warehouse(root / "warehouse")
    results = warehouse.land_drops(root / "drops", "run-1")
    warehouse.build("run-1", erasures=erasures)

    with duckdb.connect(str(warehouse.database)) as con:
        con.sql("create schema truth_keys")
        con.register("record_map", record_map)
        con.sql("create table truth_keys.record_map as select * from record_map")
        con.sql(
            """
            create view truth_keys.fct_touchpoints as
            select
                record_map.source, record_map.stream, record_map.record_id,
                touchpoints.* exclude (source, stream, record_id)
            from marts.fct_touchpoints as touchpoints
            inner join truth_keys.record_map
                on touchpoints.source = 'filedrop'
                and touchpoints.stream = record_map.drop_stream
                and touchpoints.record_id = record_map.drop_record_id
            """
        )
    streams = {
        f"{result.source}/{result.stream}": {
            "status": result.status,
            "records": result.records,
            "quarantined": result.quarantined,
            "files": len(result.files),
        }
        for result in results
    }
    return {"erased_person_key": erased_person_key, "landed": [{"streams": streams}]}


def built_warehouse(
    tmp_path_factory: pytest.TempPathFactory,
    worker_id: str,
    name: str,
    build: Callable[[Path], dict],
    touchpoints: str,
    truth_dir: str | None = None,
) -> BuiltWarehouse:
    root, result = built_once(tmp_path_factory, worker_id, name, build)
    return BuiltWarehouse(
        Warehouse(root / "warehouse"),
        root / "dataset",
        result["erased_person_key"],
        result["landed"],
        touchpoints,
        root / truth_dir if truth_dir else None,
    )


@pytest.fixture(scope="session")
def vendor_built(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> BuiltWarehouse:
    return built_warehouse(
        tmp_path_factory, worker_id, "dbt_vendor_path", build_vendor_path, "marts.fct_touchpoints"
    )


@pytest.fixture(scope="session")
def drop_built(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> BuiltWarehouse:
    return built_warehouse(
        tmp_path_factory,
        worker_id,
        "dbt_drop_path",
        build_drop_path,
        "truth_keys.fct_touchpoints",
        "drop_truth",
    )


@pytest.fixture(params=BUILDS)
def built(request: pytest.FixtureRequest) -> BuiltWarehouse:
    """The vendor-path warehouse, then the file-drop-path warehouse."""
    return request.getfixturevalue(f"{request.param}_built")
