"""The staging warehouse a nightly run builds before anything is published.

Write-audit-publish: every run writes into `{build_dir}/journey.duckdb`, never into the
published file. A run starts from a copy of the live generation's private build state (the
whole build file of the night that published it, so incremental dbt models keep their state;
`generations.py`) or from nothing (first run, full refresh). One build at a time: `BuildLock`
refuses a second concurrent run with a message naming the holder.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import JourneyError
from pipelines.settings import Settings
from pipelines.warehouse.generations import load_generation, recover, settle


class BuildLockedError(JourneyError, RuntimeError):
    """Another run is building the warehouse right now."""


@dataclass(frozen=True)
class BuildLock:
    path: Path
    run_id: str

    @classmethod
    def acquire(cls, build_dir: Path, run_id: str) -> BuildLock:
        build_dir.mkdir(parents=True, exist_ok=True)
        path = build_dir / ".lock"
        holder = _read_lock(path)
        if holder and holder.get("run_id") == run_id:
            return cls(path, run_id)  # a retry of the same run re-enters its own build
        if holder and _process_alive(holder.get("pid")):
            raise BuildLockedError(
                f"run {holder.get('run_id')} (pid {holder.get('pid')}) is building the warehouse "
                f"in {build_dir}; wait for it to finish, or delete {path} if that process is gone"
            )
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"run_id": run_id, "pid": os.getpid()}))
        os.replace(tmp, path)
        return cls(path, run_id)

    def release(self) -> None:
        holder = _read_lock(self.path)
        if holder and holder.get("run_id") == self.run_id:
            self.path.unlink(missing_ok=True)


def _read_lock(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _process_alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prepare_build(settings: Settings, *, run_id: str, full_refresh: bool) -> Path:
    """Create the run's staging warehouse and return its path.

    Starts from a copy of the live generation's build state unless this is a full refresh or
    nothing is published yet; a publish or rollback a crash interrupted is completed first.
    Identity outputs of an earlier build are removed so a run never reads another run's
    intermediate state.
    """
    BuildLock.acquire(settings.build_dir, run_id)
    build_path = settings.build_warehouse_path
    marker = settings.build_dir / ".run"
    if marker.exists() and marker.read_text() == run_id and build_path.exists():
        return build_path  # a retried step of the same run keeps its build
    pointer, unsettled = recover(settings)
    if pointer is not None and unsettled and settings.postgres_url is None:
        settle(settings, pointer)  # with PostgreSQL, the publish step settles it
    for stale in (build_path, build_path.with_suffix(build_path.suffix + ".wal")):
        stale.unlink(missing_ok=True)
    shutil.rmtree(settings.build_identity_dir, ignore_errors=True)
    if pointer is not None and not full_refresh:
        shutil.copyfile(load_generation(settings, pointer.current).state_file, build_path)
    marker.write_text(run_id)
    return build_path
