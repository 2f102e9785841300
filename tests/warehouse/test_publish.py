"""Write-audit-publish on real DuckDB files: generations, rollback, the private build state,
a build folder on another filesystem, erasure of the previous generation, legacy adoption."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.warehouse.build import BuildLock, BuildLockedError, prepare_build
from pipelines.warehouse.generations import generations_dir, read_pointer
from pipelines.warehouse.publish import PublishError, publish, rollback
from tests.warehouse.builds import SPEC, build, orders, settings_for


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _nights(path: Path) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [r[0] for r in con.execute("select run_id from intermediate.nights").fetchall()]
    finally:
        con.close()


def test_publish_swaps_keeps_previous_and_exports(tmp_path):
    settings = settings_for(tmp_path)
    build(settings, "run-1", [1, 2])
    first = publish(settings, run_id="run-1", spec=SPEC)
    assert first.previous_path is None
    assert orders(settings.warehouse_path) == ["1", "2"]
    assert first.tables == {
        "identity.identity_map": 2,
        "marts.dim_persons": 2,
        "marts.fct_orders": 2,
    }
    assert not settings.build_warehouse_path.exists()

    build(settings, "run-2", [1, 2, 3])
    second = publish(settings, run_id="run-2", spec=SPEC)
    assert orders(settings.warehouse_path) == ["1", "2", "3"]
    assert orders(second.previous_path) == ["1", "2"]

    current = settings.export_dir / "current"
    exported = pl.read_parquet(current / "fct_orders" / "**" / "*.parquet", hive_partitioning=True)
    assert exported["order_id"].sort().to_list() == ["1", "2", "3"]
    assert (settings.export_dir / "previous" / "fct_orders").is_dir()
    assert not (current / "scratch.parquet").exists()  # only published schemas are exported

    rollback(settings)
    assert orders(settings.warehouse_path) == ["1", "2"]
    assert pl.read_parquet(current / "fct_orders" / "**" / "*.parquet").height == 2
    rollback(settings)  # a second rollback undoes the first
    assert orders(settings.warehouse_path) == ["1", "2", "3"]
    # two generations are kept, nothing else: no stale folders pile up
    assert sorted(p.name for p in generations_dir(settings).iterdir() if p.is_dir()) == sorted(
        [first.generation, second.generation]
    )
    assert sorted(p.name for p in settings.export_dir.iterdir() if not p.is_symlink()) == sorted(
        [first.generation, second.generation]
    )


def test_the_next_night_starts_from_the_private_build_state_of_the_live_generation(tmp_path):
    settings = settings_for(tmp_path)
    build(settings, "run-1", [1])
    publish(settings, run_id="run-1", spec=SPEC)
    build(settings, "run-2", [1, 2])
    publish(settings, run_id="run-2", spec=SPEC)
    # the internal layer is in the state, never in the published file
    path = prepare_build(settings, run_id="run-3", full_refresh=False)
    assert _nights(path) == ["run-1", "run-2"]
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'intermediate'"
    ).fetchone() == (0,)
    con.close()
    BuildLock(settings.build_dir / ".lock", "run-3").release()

    # the state is rolled back together with the published file
    rollback(settings)
    path = prepare_build(settings, run_id="run-4", full_refresh=False)
    assert _nights(path) == ["run-1"]


def test_a_failed_build_leaves_the_published_warehouse_byte_for_byte(tmp_path):
    settings = settings_for(tmp_path)
    build(settings, "run-1", [1])
    publish(settings, run_id="run-1", spec=SPEC)
    before = _digest(settings.warehouse_path)

    build(settings, "run-2", [1, 99])  # built, but a blocking check fails: never published
    BuildLock(settings.build_dir / ".lock", "run-2").release()  # what the end of a run does
    assert _digest(settings.warehouse_path) == before
    # the next run starts again from the published state, not from the failed build
    path = prepare_build(settings, run_id="run-3", full_refresh=False)
    assert orders(path) == ["1"] and _nights(path) == ["run-1"]


def test_a_retried_publish_step_of_a_published_run_changes_nothing(tmp_path):
    settings = settings_for(tmp_path)
    build(settings, "run-1", [1])
    first = publish(settings, run_id="run-1", spec=SPEC)
    again = publish(settings, run_id="run-1", spec=SPEC)
    assert again.generation == first.generation
    assert read_pointer(settings).previous is None


def test_publish_refuses_without_a_build(tmp_path):
    settings = settings_for(tmp_path)
    with pytest.raises(PublishError, match="no staging warehouse"):
        publish(settings, run_id="nothing", spec=SPEC)


def test_rollback_without_a_previous_generation_says_why(tmp_path):
    settings = settings_for(tmp_path)
    with pytest.raises(PublishError, match="nothing has been published"):
        rollback(settings)
    build(settings, "run-1", [1])
    publish(settings, run_id="run-1", spec=SPEC)
    with pytest.raises(PublishError, match="only one generation has been published"):
        rollback(settings)


def test_a_second_concurrent_build_is_refused(tmp_path):
    settings = settings_for(tmp_path)
    BuildLock.acquire(settings.build_dir, "run-a")  # held by this (live) process
    with pytest.raises(BuildLockedError, match="run-a"):
        BuildLock.acquire(settings.build_dir, "run-b")
    BuildLock.acquire(settings.build_dir, "run-a")  # the same run may re-enter
    with pytest.raises(BuildLockedError, match="run-a"):
        rollback(settings)  # a rollback never races a night's publish


def test_full_refresh_starts_from_an_empty_warehouse(tmp_path):
    settings = settings_for(tmp_path)
    build(settings, "run-1", [1, 2])
    publish(settings, run_id="run-1", spec=SPEC)
    path = prepare_build(settings, run_id="run-2", full_refresh=True)
    assert not path.exists()


def test_a_build_dir_on_another_filesystem_publishes_and_keeps_the_previous(tmp_path):
    """Issue 18 item 10: a rename across filesystems fails (EXDEV); publishing copies beside
    the target instead, and the previous generation survives."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on another filesystem than the temporary folder")
    build_dir = Path(shm) / f"journey-build-{os.getpid()}-{tmp_path.name}"
    try:
        settings = settings_for(tmp_path, JOURNEY_BUILD_DIR=str(build_dir))
        build(settings, "run-1", [1])
        publish(settings, run_id="run-1")
        build(settings, "run-2", [1, 2])
        result = publish(settings, run_id="run-2")
        assert orders(settings.warehouse_path) == ["1", "2"]
        assert orders(result.previous_path) == ["1"]
        assert not settings.build_warehouse_path.exists()
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)


def test_an_erasure_run_discards_the_previous_generation_that_holds_the_person(tmp_path):
    """Issue 18 item 3: the rollback copy (file, exports, build state) of a generation that
    holds an erased person is not kept; rollback says why."""
    erasure = tmp_path / "erasure.csv"
    settings = settings_for(tmp_path, JOURNEY_ERASURE_FILE=str(erasure))
    erasure.write_text("identifier_kind,identifier_value,requested_at\n")
    build(settings, "run-1", [1])
    first = publish(settings, run_id="run-1", spec=SPEC)
    build(settings, "run-2", [1, 2])
    second = publish(settings, run_id="run-2", spec=SPEC)
    assert second.previous_path is not None  # nobody erased: the previous is kept

    # the list now names Anna, as typed in a support request
    erasure.write_text(
        "identifier_kind,identifier_value,requested_at\nemail, ANNA@example.com ,2026-10-01\n"
    )
    build(settings, "run-3", [2, 3])
    third = publish(settings, run_id="run-3", spec=SPEC)
    assert third.previous_path is None
    assert "held 1 person(s) on the erasure list" in third.previous_discarded
    assert not settings.previous_warehouse_path.exists()
    assert not (settings.export_dir / "previous").exists()
    kept = [p.name for p in generations_dir(settings).iterdir() if p.is_dir()]
    assert kept == [third.generation]  # first's and second's files and build states are gone
    assert first.generation not in os.listdir(settings.export_dir)
    with pytest.raises(PublishError, match="erasure list"):
        rollback(settings)


def test_rollback_refuses_a_generation_holding_an_erased_person(tmp_path):
    erasure = tmp_path / "erasure.csv"
    settings = settings_for(tmp_path, JOURNEY_ERASURE_FILE=str(erasure))
    erasure.write_text("identifier_kind,identifier_value,requested_at\n")
    build(settings, "run-1", [1])
    publish(settings, run_id="run-1", spec=SPEC)
    build(settings, "run-2", [2])
    publish(settings, run_id="run-2", spec=SPEC)
    erasure.write_text(
        "identifier_kind,identifier_value,requested_at\nemail,ben@example.com,2026-10-01\n"
    )
    before = _digest(settings.warehouse_path)
    with pytest.raises(PublishError, match=r"refusing to roll back.*erasure list"):
        rollback(settings)
    assert _digest(settings.warehouse_path) == before


def test_a_warehouse_published_before_generations_is_adopted(tmp_path):
    """The old layout: a whole build file at the published path, a hard-linked previous one,
    export folders behind symlinks. The first run adopts them: rollback and state survive."""
    settings = settings_for(tmp_path)
    build(settings, "old-1", [1])
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(settings.build_warehouse_path, settings.previous_warehouse_path)
    BuildLock(settings.build_dir / ".lock", "old-1").release()
    build(settings, "old-2", [1, 2])
    shutil.copyfile(settings.build_warehouse_path, settings.warehouse_path)
    (settings.export_dir / "run-old-2").mkdir(parents=True)
    (settings.export_dir / "current").symlink_to("run-old-2")
    BuildLock(settings.build_dir / ".lock", "old-2").release()

    path = prepare_build(settings, run_id="run-3", full_refresh=False)
    assert _nights(path) == ["old-2"]  # the adopted published file is the state
    pointer = read_pointer(settings)
    assert pointer.operation == "adopt" and pointer.previous is not None
    build(settings, "run-3", [1, 2, 3])
    publish(settings, run_id="run-3", spec=SPEC)
    assert orders(settings.previous_warehouse_path) == ["1", "2"]
    assert orders(settings.warehouse_path) == ["1", "2", "3"]
    rollback(settings)
    assert orders(settings.warehouse_path) == ["1", "2"]
    assert os.readlink(settings.export_dir / "current") == "run-old-2"


def test_the_pointer_and_manifests_are_plain_json(tmp_path):
    settings = settings_for(tmp_path)
    build(settings, "run-1", [1])
    result = publish(settings, run_id="run-1", spec=SPEC)
    pointer = json.loads((generations_dir(settings) / "pointer.json").read_text())
    assert pointer["current"] == result.generation and pointer["settled"] is True
    manifest = json.loads(
        (generations_dir(settings) / result.generation / "generation.json").read_text()
    )
    assert manifest["run_id"] == "run-1" and manifest["tables"]["marts.fct_orders"] == 1
    assert generations_dir(settings).stat().st_mode & 0o077 == 0  # private to the pipeline's user
