"""Dagster's SQLite storage with `synchronous=NORMAL` on WAL files kept open (pipelines/event_log.py):
the events a run writes are all there, read back by another process, only WAL files are
touched, and the database file itself receives a running run's events (checkpoints), which is
what the Dagster UI's file watcher waits for."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections import Counter

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


def test_a_watcher_of_a_running_run_sees_its_events_before_the_run_ends(tmp_path):
    """The Dagster UI's live view: a file watcher on the run's `<run_id>.db` (Dagster's own
    `watch`, as the UI uses it). With the log kept open, the database file only changes at a
    checkpoint; the checkpoint thread must bring the run's events into it while it runs."""
    event_log.install()
    run_ids: list[str] = []
    started, watching, release = threading.Event(), threading.Event(), threading.Event()

    @dg.asset
    def slow(context) -> int:
        run_ids.append(context.run_id)
        started.set()
        assert watching.wait(30)
        context.log.info("halfway through")
        assert release.wait(30)
        return 1

    seen = threading.Event()

    def on_event(entry, _cursor) -> None:
        if entry.user_message == "halfway through":
            seen.set()

    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        results = []
        runner = threading.Thread(
            target=lambda: results.append(dg.materialize([slow], instance=instance))
        )
        runner.start()
        try:
            assert started.wait(30)
            [run_id] = run_ids
            storage = instance.event_log_storage
            storage.watch(run_id, None, on_event)
            watching.set()
            assert seen.wait(10 * event_log.CHECKPOINT_SECONDS + 5), "the watcher saw nothing"
            assert runner.is_alive()  # still writing: the run waits for `release`
            # the database file alone (without its write-ahead log) holds the event
            main_file = tmp_path / "history" / "runs" / f"{run_id}.db"
            copy = tmp_path / "copy.db"
            shutil.copyfile(main_file, copy)
            with sqlite3.connect(copy) as reader:
                [(count,)] = reader.execute(
                    "select count(*) from event_logs where event like '%halfway through%'"
                ).fetchall()
            assert count == 1
            storage.end_watch(run_id, on_event)
        finally:
            watching.set()
            release.set()
            # the run's end waits for Dagster's compute-log capture to close (up to 2 × 30 s
            # under a loaded machine), which is not what this test is about
            runner.join(180)
        assert results and results[0].success


def test_only_changed_files_are_checkpointed(tmp_path):
    event_log.install()
    path = tmp_path / "wal.db"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("create table t (x)"))
    event_log.checkpoint_changed()
    assert str(path) not in event_log.checkpoint_changed()  # nothing new since
    with engine.begin() as connection:
        connection.execute(text("insert into t values (1)"))
    event_log.checkpoint_changed()  # (or the thread did it first)
    engine.dispose()
    copy = tmp_path / "copy.db"
    shutil.copyfile(path, copy)  # the database file without its log
    with sqlite3.connect(copy) as reader:
        assert reader.execute("select x from t").fetchall() == [(1,)]


# sha256 of the source of Dagster 1.13's SqliteEventLogStorage._connect, which
# event_log.cache_engines replaces with the same steps minus a new engine per connection
DAGSTER_CONNECT_SHA256 = "b8435f2665689760a1e1d98e17b78ceef5a48256dc11b562a20c840abc37d170"


def test_the_event_log_reuses_one_engine_per_shard_and_stores_every_event(tmp_path):
    """A run's events and the index's mirrored check events go through one engine per shard
    file, however many events are stored; all of them read back. The replaced Dagster method is
    still the one `cache_engines` copied (a Dagster upgrade that changes it fails here)."""
    import hashlib
    import inspect

    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    event_log.install()
    assert SqliteEventLogStorage._connect is event_log._cached_connect
    original = inspect.getsource(event_log._replaced_connect.__wrapped__)
    assert hashlib.sha256(original.encode()).hexdigest() == DAGSTER_CONNECT_SHA256
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        first = dg.materialize([numbers], instance=instance)
        second = dg.materialize([numbers], instance=instance)
        storage = instance.event_log_storage
        assert isinstance(storage, SqliteEventLogStorage)
        engines = storage.__dict__["_journey_engines"]
        assert sorted(engines) == sorted([first.run_id, second.run_id, "index"])
        for result in (first, second):
            stored = Counter(
                log.dagster_event.event_type_value
                for log in instance.all_logs(result.run_id)
                if log.dagster_event is not None
            )
            assert Counter(event.event_type_value for event in result.all_events) - stored == {}
            assert stored["ASSET_MATERIALIZATION"] == stored["ASSET_CHECK_EVALUATION"] == 1
        evaluations = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("numbers"), "positive"), limit=10
        )
        assert [e.run_id for e in evaluations] == [second.run_id, first.run_id]
