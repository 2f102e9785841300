"""Write-audit-publish mechanics on real DuckDB files: atomic swap, rollback, exports."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.settings import Settings
from pipelines.warehouse.build import BuildLock, BuildLockedError, prepare_build
from pipelines.warehouse.publish import PublishError, publish, rollback


def _settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "JOURNEY_DATA_DIR": str(tmp_path / "data"),
            "JOURNEY_WAREHOUSE_PATH": str(tmp_path / "warehouse" / "journey.duckdb"),
        }
    )


def _build(settings: Settings, run_id: str, orders: list[int], *, full_refresh=False) -> None:
    path = prepare_build(settings, run_id=run_id, full_refresh=full_refresh)
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists marts")
    con.execute("create schema if not exists intermediate")
    con.execute(
        "create or replace table marts.fct_orders as select unnest(?) as order_id", [orders]
    )
    con.execute("create or replace table intermediate.scratch as select 1 as x")
    con.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _orders(path: Path) -> list[int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [
            row[0]
            for row in con.execute("select order_id from marts.fct_orders order by 1").fetchall()
        ]
    finally:
        con.close()


def test_publish_swaps_keeps_previous_and_exports(tmp_path):
    settings = _settings(tmp_path)
    _build(settings, "run-1", [1, 2])
    first = publish(settings, run_id="run-1")
    assert first.previous_path is None
    assert _orders(settings.warehouse_path) == [1, 2]
    assert first.tables == {"marts.fct_orders": 2}
    assert not settings.build_warehouse_path.exists()

    # The next build starts from the published warehouse (incremental models keep state).
    _build(settings, "run-2", [1, 2, 3])
    second = publish(settings, run_id="run-2")
    assert _orders(settings.warehouse_path) == [1, 2, 3]
    assert _orders(second.previous_path) == [1, 2]

    exported = pl.read_parquet(settings.export_dir / "current" / "fct_orders.parquet")
    assert exported["order_id"].sort().to_list() == [1, 2, 3]
    assert (settings.export_dir / "previous" / "fct_orders.parquet").exists()
    # only published schemas are exported
    assert not (settings.export_dir / "current" / "scratch.parquet").exists()

    rollback(settings)
    assert _orders(settings.warehouse_path) == [1, 2]
    assert pl.read_parquet(settings.export_dir / "current" / "fct_orders.parquet").height == 2
    rollback(settings)  # a second rollback undoes the first
    assert _orders(settings.warehouse_path) == [1, 2, 3]


def test_a_failed_build_leaves_the_published_warehouse_byte_for_byte(tmp_path):
    settings = _settings(tmp_path)
    _build(settings, "run-1", [1])
    publish(settings, run_id="run-1")
    before = _digest(settings.warehouse_path)

    _build(settings, "run-2", [1, 99])  # built, but a blocking check fails: never published
    BuildLock(settings.build_dir / ".lock", "run-2").release()  # what the end of a run does
    assert _digest(settings.warehouse_path) == before
    # the next run starts again from the published state, not from the failed build
    path = prepare_build(settings, run_id="run-3", full_refresh=False)
    assert _orders(path) == [1]


def test_publish_refuses_without_a_build(tmp_path):
    settings = _settings(tmp_path)
    with pytest.raises(PublishError, match="no staging warehouse"):
        publish(settings, run_id="nothing")


def test_a_second_concurrent_build_is_refused(tmp_path):
    settings = _settings(tmp_path)
    BuildLock.acquire(settings.build_dir, "run-a")  # held by this (live) process
    with pytest.raises(BuildLockedError, match="run-a"):
        BuildLock.acquire(settings.build_dir, "run-b")
    BuildLock.acquire(settings.build_dir, "run-a")  # the same run may re-enter


def test_full_refresh_starts_from_an_empty_warehouse(tmp_path):
    settings = _settings(tmp_path)
    _build(settings, "run-1", [1, 2])
    publish(settings, run_id="run-1")
    path = prepare_build(settings, run_id="run-2", full_refresh=True)
    assert not path.exists()
