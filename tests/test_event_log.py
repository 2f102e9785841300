"""Dagster's SQLite storage with `synchronous=NORMAL` on WAL files kept open (pipelines/event_log.py):
the events a run writes are all there, read back by another process, and only WAL files are
touched."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import dagster as dg
from sqlalchemy import create_engine, text

from pipelines import event_log


@dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="numbers")])
def numbers():
    yield dg.Output([1, 2, 3])
    yield dg.AssetCheckResult(check_name="positive", passed=True, metadata={"rows": 3})


def test_a_run_stored_with_the_tuned_storage_reads_back_whole_in_another_process(tmp_path):
    event_log.install()
    event_log.install()  # idempotent
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        result = dg.materialize([numbers], instance=instance)
        assert result.success
        run_id = result.run_id
        kept = event_log.kept_files()
        assert str(tmp_path / "history" / "runs" / "index.db") in kept
        assert str(tmp_path / "history" / "runs" / f"{run_id}.db") in kept
    # a fresh process (no tuning, no kept connections) sees every event of the run
    script = textwrap.dedent(
        f"""
        import dagster as dg
        with dg.DagsterInstance.local_temp({str(tmp_path)!r}) as instance:
            logs = instance.all_logs({run_id!r})
            kinds = [e.dagster_event.event_type_value for e in logs if e.dagster_event]
            print(kinds.count("ASSET_MATERIALIZATION"), kinds.count("ASSET_CHECK_EVALUATION"),
                  kinds[-1])
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["1", "1", "PIPELINE_SUCCESS"]  # Dagster's stored name of RUN_SUCCESS


def test_only_wal_files_get_synchronous_normal(tmp_path):
    event_log.install()
    wal, rollback = tmp_path / "wal.db", tmp_path / "rollback.db"
    with sqlite3.connect(wal) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
    sqlite3.connect(rollback).execute("create table t (x)").connection.close()
    levels = {}
    for path in (wal, rollback):
        engine = create_engine(f"sqlite:///{path}")
        with engine.connect() as connection:
            levels[path.name] = connection.execute(text("PRAGMA synchronous")).scalar()
        engine.dispose()
    assert levels == {"wal.db": 1, "rollback.db": 2}  # 1 NORMAL, 2 FULL (SQLite's default)
    assert str(wal) in event_log.kept_files()
    assert str(rollback) not in event_log.kept_files()
