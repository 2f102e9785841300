"""A kill at every point of publish and rollback (issue 18 item 11).

Each operation first runs once recording the fault points it passes
(`JOURNEY_FAULT_POINT=record:<file>`); then, for every point (its last pass), a copy of the same
starting warehouse (and PostgreSQL database) is made, the operation runs in a subprocess that
SIGKILLs itself there, and the test checks that every path a reader opens is a whole
generation, old or new (DuckDB file, rollback file, Parquet exports, PostgreSQL tables), and
that running the operation again ends in exactly the state an uninterrupted run leaves.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import adbc_driver_postgresql.dbapi as adbc
import duckdb
import pytest

from pipelines.settings import PROJECT_ROOT, Secret, Settings
from pipelines.warehouse.faults import FAULT_VARIABLE
from pipelines.warehouse.generations import generations_dir, read_pointer
from pipelines.warehouse.postgres import PostgresTarget
from pipelines.warehouse.publish import publish, rollback
from tests.warehouse.builds import SPEC, build, orders, settings_for

SCRIPT = """
import sys
from pipelines.settings import Settings
from pipelines.warehouse.publish import publish, rollback
from tests.warehouse.builds import SPEC

settings = Settings.from_env()
if sys.argv[1] == "publish":
    publish(settings, run_id="run-3", spec=SPEC)
else:
    rollback(settings)
"""
A, B, C = ["1"], ["1", "2"], ["1", "2", "3"]


def _environment(root: Path, postgres: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "JOURNEY_DATA_DIR": str(root / "data"),
        "JOURNEY_WAREHOUSE_PATH": str(root / "warehouse" / "journey.duckdb"),
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    env.pop("JOURNEY_POSTGRES_URL", None)
    if postgres:
        env["JOURNEY_POSTGRES_URL"] = postgres
    return env


def _prepare(root: Path, operation: str, postgres: str | None) -> Settings:
    """Generations A (previous) and B (current) published; for a publish, C built."""
    settings = settings_for(root, **({"JOURNEY_POSTGRES_URL": postgres} if postgres else {}))
    build(settings, "run-1", [1])
    publish(settings, run_id="run-1", spec=SPEC)
    build(settings, "run-2", [1, 2])
    publish(settings, run_id="run-2", spec=SPEC)
    if operation == "publish":
        build(settings, "run-3", [1, 2, 3])
    return settings


def _run(root: Path, operation: str, fault: str, postgres: str | None) -> int:
    env = {**_environment(root, postgres), FAULT_VARIABLE: fault}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, operation],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode in (0, -signal.SIGKILL), done.stderr[-3000:]
    return done.returncode


def _exported_orders(settings: Settings, link: str) -> list[str] | None:
    folder = settings.export_dir / link
    if not folder.exists():
        return None
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"select order_id from read_parquet('{folder}/fct_orders/*/*.parquet') order by 1"
        ).fetchall()
        return [row[0] for row in rows]
    finally:
        con.close()


def _postgres_orders(url: str | None) -> list[str] | None:
    if url is None:
        return None
    with adbc.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("select order_id from marts.fct_orders order by 1")
        return [row[0] for row in cursor.fetchall()]


def _clone(base: Path, root: Path, postgres: str | None, name: str) -> str | None:
    """A copy of the starting warehouse (hard links kept, like the original) and database."""
    subprocess.run(["cp", "-a", str(base), str(root)], check=True)
    if postgres is None:
        return None
    with adbc.connect(postgres, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(f"create database {name} template {postgres.rsplit('/', 1)[1]}")
    return postgres.rsplit("/", 1)[0] + "/" + name


def _fresh_database(url: str, name: str) -> str:
    with adbc.connect(url, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(f"drop database if exists {name}")
        cursor.execute(f"create database {name}")
    return url.rsplit("/", 1)[0] + "/" + name


EXPECTED_POINTS = {
    "publish": [
        "publish:surface-written", "publish:state-placed", "publish:exports-written",
        "publish:generation-written", "publish:postgres-staged", "publish:committed",
        "materialise:previous-file", "materialise:published-file", "materialise:exports-previous",
        "materialise:exports-current", "publish:materialised", "publish:settled",
    ],
    "rollback": [
        "rollback:postgres-staged", "rollback:committed", "materialise:previous-file",
        "materialise:published-file", "materialise:exports-previous",
        "materialise:exports-current", "rollback:materialised",
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    ("operation", "with_postgres"),
    [("publish", False), ("rollback", False), ("publish", True), ("rollback", True)],
)
def test_a_kill_at_any_point_leaves_whole_generations_and_a_rerun_completes(
    tmp_path, operation, with_postgres, request
):
    server = request.getfixturevalue("postgres_url") if with_postgres else None
    base = tmp_path / "base"
    postgres = _fresh_database(server, f"crash_{operation}_base") if server else None
    _prepare(base, operation, postgres)
    record = tmp_path / "points.txt"
    root = tmp_path / "record"
    recording = _clone(base, root, postgres, f"crash_{operation}_record")
    assert _run(root, operation, f"record:{record}", recording) == 0
    points = record.read_text().split()
    names = {point.partition("#")[0] for point in points}
    loads = {"postgres:table-loaded"} if with_postgres and operation == "publish" else set()
    assert names == set(EXPECTED_POINTS[operation]) | loads
    # the last pass of each point (the recovery at the start passes the materialise points too,
    # where they change nothing; PostgreSQL's load passes its point once per table)
    last = {point.partition("#")[0]: point for point in points}
    points = [point for point in points if point in last.values()]
    if with_postgres:  # before the generation is complete PostgreSQL is not touched yet: the
        # kills there are the same as without it (above)
        early = ("publish:surface-written", "publish:state-placed", "publish:exports-written")
        points = [point for point in points if not point.startswith(early)]
    old, new = (B, C) if operation == "publish" else (B, A)
    for number, point in enumerate(points):
        root = tmp_path / f"kill-{number}"
        case = _clone(base, root, postgres, f"crash_{operation}_{number}")
        settings = settings_for(root, **({"JOURNEY_POSTGRES_URL": case} if case else {}))
        assert _run(root, operation, point, case) == -signal.SIGKILL, point

        # every path a reader opens shows a whole generation, old or new
        assert orders(settings.warehouse_path) in (old, new), point
        assert orders(settings.previous_warehouse_path) in (A, B, C), point
        assert _exported_orders(settings, "current") in (old, new), point
        if case:
            assert _postgres_orders(case) in (old, new), point

        # running the operation again ends where an uninterrupted run ends
        if operation == "publish":
            publish(settings, run_id="run-3", spec=SPEC)
        else:
            rollback(settings)
        assert orders(settings.warehouse_path) == new, point
        assert orders(settings.previous_warehouse_path) == B, point
        assert _exported_orders(settings, "current") == new, point
        assert _exported_orders(settings, "previous") == B, point
        pointer = read_pointer(settings)
        assert pointer.settled, point
        assert len([p for p in generations_dir(settings).iterdir() if p.is_dir()]) == 2, point
        assert len([p for p in settings.export_dir.iterdir() if not p.is_symlink()]) == 2, point
        if case:
            state = PostgresTarget(Secret(case)).state()
            assert (state.live, state.previous, state.next) == (
                pointer.current, pointer.previous, None
            ), point  # fmt: skip
            assert _postgres_orders(case) == new, point
