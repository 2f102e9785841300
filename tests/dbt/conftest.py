"""One generated dataset, landed in two nightly loads and built with dbt, shared by the tests.

Load 1 lands the vendor dataset as the sandbox serves it mid-period; load 2 lands it at the
end of the period, keeping only versions load 1 did not already land (what cursor-based
extraction delivers), so the second `dbt build` exercises the incremental models. Identities
come from the real Polars stitching step; load 2 also erases one person, so suppression is
exercised. After the incremental build the marts are copied, then rebuilt with
`--full-refresh` for the comparison in test_incremental.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.demo.generator import generate
from tests.dbt.harness import PRE_IDENTITY, Warehouse

PERSONS = 400
SEED = 11
MID_PERIOD = datetime(2026, 6, 15, tzinfo=UTC)
INCREMENTAL_TABLES = ("fct_touchpoints", "fct_sessions")


def keep_only_new_versions(landing_dir: Path, first_run: str, second_run: str) -> None:
    """Drop from the second run's landed files every row the first run already landed."""
    for stream_dir in sorted(p for p in landing_dir.glob("*/*") if p.is_dir()):
        second_files = sorted(stream_dir.glob(f"**/{second_run}-*.parquet"))
        if not second_files:
            continue
        first = pl.concat(
            [pl.read_parquet(f) for f in stream_dir.glob(f"**/{first_run}-*.parquet")]
            or [pl.read_parquet(stream_dir / "_schema.parquet")]
        ).select("record_id", "_record_hash")
        for path in second_files:
            kept = pl.read_parquet(path).join(
                first, on=["record_id", "_record_hash"], how="anti", nulls_equal=True
            )
            kept.write_parquet(path)


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


class BuiltWarehouse:
    def __init__(self, warehouse: Warehouse, dataset: Path, erased_person_key: str, landed: list):
        self.warehouse = warehouse
        self.dataset = dataset
        self.erased_person_key = erased_person_key
        self.landed = landed

    def query(self, sql: str) -> pl.DataFrame:
        return self.warehouse.query(sql)

    def truth(self, name: str) -> str:
        return f"read_parquet('{self.dataset / 'truth' / name}.parquet')"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    root = tmp_path_factory.mktemp("dbt_warehouse")
    dataset = root / "dataset"
    generate(dataset, persons=PERSONS, seed=SEED)
    erased_person_key, erasures = erasure_for_one_person(dataset)

    warehouse = Warehouse(root / "warehouse")
    landed = [warehouse.land(dataset, "run-1", as_of=MID_PERIOD)]
    warehouse.build("run-1")

    landed.append(warehouse.land(dataset, "run-2"))
    keep_only_new_versions(warehouse.landing_dir, "run-1", "run-2")
    incremental = ("--vars", "{incremental_lookback_hours: 0}")
    warehouse.dbt("build", "--select", PRE_IDENTITY, *incremental)
    warehouse.stitch_identities("run-2", erasures=erasures)
    warehouse.dbt("build", "--exclude", PRE_IDENTITY, *incremental)

    with duckdb.connect(str(warehouse.database)) as con:
        con.sql("create schema if not exists incremental_copy")
        for table in INCREMENTAL_TABLES:
            con.sql(f"create table incremental_copy.{table} as select * from marts.{table}")
    warehouse.dbt("build", "--exclude", PRE_IDENTITY, "--full-refresh")
    return BuiltWarehouse(warehouse, dataset, erased_person_key, landed)
