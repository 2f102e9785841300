"""An incremental build on a second load equals a full refresh of the same data (vendor path)."""

from __future__ import annotations

import pytest

from tests.dbt.conftest import INCREMENTAL_TABLES, BuiltWarehouse


@pytest.mark.parametrize("table", INCREMENTAL_TABLES)
def test_incremental_build_equals_full_refresh(vendor_built: BuiltWarehouse, table: str) -> None:
    incremental = f"select * from incremental_copy.{table}"
    full = f"select * from marts.{table}"
    assert vendor_built.query(f"{incremental} except {full}").height == 0
    assert vendor_built.query(f"{full} except {incremental}").height == 0
    assert vendor_built.query(f"select count(*) from ({full})").item() > 100


def test_second_load_was_incremental(vendor_built: BuiltWarehouse) -> None:
    # Load 2 landed only new versions, and fewer records than load 1 landed in all.
    first, second = (
        vendor_built.query(
            f"select count(*) from read_parquet('{vendor_built.warehouse.landing_dir}/*/*/**/{run}-*.parquet')"
        ).item()
        for run in ("run-1", "run-2")
    )
    assert 0 < second < first
