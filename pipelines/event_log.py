"""Cheaper writes to Dagster's SQLite storage: `synchronous=NORMAL` on WAL files, kept open.

Dagster's SQLite storages open a connection per write (SQLAlchemy `NullPool`), commit and close
it: a run stores ~2,000 events (a planned and an evaluation event per asset check, ~550 of them
dbt tests; a materialization per asset; log lines), each one to three such connections. Every
commit waits for an fsync of the write-ahead log, and every close of the *last* connection to a
file checkpoints the log into the database with two more fsyncs. Measured on this machine: 13 ms
per write as Dagster does it, 0.1 ms with the two changes below (DECISIONS.md, "Dagster's
SQLite storage runs with `synchronous=NORMAL`").

- `PRAGMA synchronous=NORMAL` on every SQLite connection whose file is in WAL mode (Dagster puts
  its event log, run and schedule storages in WAL mode): a commit no longer waits for the disk;
  checkpoints still do. SQLite's documented guarantee for WAL + NORMAL: the database is never
  corrupted; a power cut or OS crash may lose the last transactions before it (a process crash
  loses nothing). Files in another journal mode are left alone.
- One idle connection per such file stays open for the life of the process, so closing
  Dagster's short-lived connections no longer checkpoints each time; SQLite checkpoints when the
  log reaches 1,000 pages, and when the process exits. The idle connection never opens a
  transaction, so it holds no snapshot and blocks no writer or checkpoint of other processes.
- A background thread checkpoints every kept file that changed, at most every
  `CHECKPOINT_SECONDS` (`PRAGMA wal_checkpoint(PASSIVE)`: it copies what the log holds into the
  database file without waiting for, or blocking, any reader or writer). Readers in other
  processes see committed events without it (they read the log), but the Dagster UI learns that
  a running run has new events from a file watcher on the run's `<run_id>.db` file, which only
  changes at a checkpoint: without this thread the live view of a run stood still until the log
  reached 1,000 pages (most of a small run).

- One SQLAlchemy engine per event-log shard (`<run_id>.db`, `index.db`) for the life of the
  storage (`cache_engines`): Dagster's `SqliteEventLogStorage._connect` built a new engine for
  every connection (dialect set-up, listeners; ~2.8 ms CPU of each `store_event`, and a night
  stores ~3,300 events). The engine keeps `NullPool`, so connections still open and close per
  write exactly as before; only the engine is reused.

`install()` is idempotent; the definitions module calls it, so the CLI, `dagster dev`'s run
processes and the tests' instances all write this way.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHECKPOINT_SECONDS = 0.5
"""How stale the database file (and so the Dagster UI's live view of a run) may get."""

_log = logging.getLogger(__name__)
_lock = threading.Lock()
_checkpoint_lock = threading.Lock()
_installed = False
_keepers: dict[str, sqlite3.Connection] = {}
_checkpointed_version: dict[str, int] = {}
_checkpointer_pid: int | None = None


def install() -> None:
    """Tune every SQLite connection SQLAlchemy opens from now on in this process."""
    global _installed
    with _lock:
        if _installed:
            return
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "connect", _on_connect)
        _installed = True
    cache_engines()


_engines_cached = False
_replaced_connect: Any = None
"""Dagster's own `SqliteEventLogStorage._connect`, kept for tests/test_event_log.py."""


def cache_engines() -> None:
    """Make Dagster's SQLite event log reuse one engine per shard (see the module's docstring).

    Replaces `SqliteEventLogStorage._connect` with the same steps minus the engine's creation
    and disposal per call; tests/test_event_log.py checks the replaced method is still the one
    this was written against (a Dagster upgrade that changes it fails there, not in a run)."""
    global _engines_cached, _replaced_connect
    with _lock:
        if _engines_cached:
            return
        from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
            SqliteEventLogStorage,
        )

        _replaced_connect = SqliteEventLogStorage._connect
        SqliteEventLogStorage._connect = _cached_connect  # type: ignore[method-assign]
        _engines_cached = True


@contextmanager
def _cached_connect(self: Any, shard: str) -> Iterator[Any]:
    from dagster._core.storage.sql import create_engine
    from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
    from sqlalchemy.pool import NullPool

    with self._db_lock:
        engines = self.__dict__.setdefault("_journey_engines", {})
        engine = engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=NullPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            engines[shard] = engine
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        with engine.connect() as conn, conn.begin():
            yield conn


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    mode = dbapi_connection.execute("PRAGMA journal_mode").fetchone()
    if not mode or str(mode[0]).lower() != "wal":
        return
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    path = _main_file(dbapi_connection)
    if path:
        _keep_open(path)


def _main_file(connection: sqlite3.Connection) -> str | None:
    for _seq, name, file in connection.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return str(file) or None  # "" for an in-memory database
    return None


def _keep_open(path: str) -> None:
    with _lock:
        if path in _keepers:
            return
        # check_same_thread=False: it is only ever closed, from whichever thread exits last
        keeper = sqlite3.connect(path, check_same_thread=False)
        keeper.execute(
            "select count(*) from sqlite_master"
        ).fetchall()  # opens the file and its WAL index
        _keepers[path] = keeper
        _start_checkpointer()


def _start_checkpointer() -> None:
    """The checkpoint thread of this process (again in a forked child: threads do not fork)."""
    global _checkpointer_pid
    if _checkpointer_pid == os.getpid():
        return
    _checkpointer_pid = os.getpid()
    threading.Thread(target=_checkpoint_loop, name="sqlite-wal-checkpoint", daemon=True).start()


def _checkpoint_loop() -> None:
    pause = threading.Event()  # never set: a sleep
    while not pause.wait(CHECKPOINT_SECONDS):
        checkpoint_changed()


def checkpoint_changed() -> list[str]:
    """`PRAGMA wal_checkpoint(PASSIVE)` on every kept file committed to since its last
    checkpoint (SQLite's `data_version` tells, without reading the log); the files checkpointed."""
    done = []
    with _lock:
        kept = list(_keepers.items())
    # not under `_lock`: a checkpoint syncs files, and new connections of Dagster take `_lock`
    with _checkpoint_lock:
        for path, keeper in kept:
            try:
                version = keeper.execute("PRAGMA data_version").fetchone()[0]
                if _checkpointed_version.get(path) == version:
                    continue
                keeper.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                _checkpointed_version[path] = version
                done.append(path)
            except sqlite3.Error as error:  # a busy or vanished file: try again next time
                _log.debug("WAL checkpoint of %s skipped: %s", path, error)
    return done


def kept_files() -> list[str]:
    """The files held open (for tests and diagnostics)."""
    with _lock:
        return sorted(_keepers)
