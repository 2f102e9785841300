"""A killed run is marked failed so the next one can start (issue 18, item 9): the monitor's
code path on real runs in a temporary instance, whose process is really killed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import psutil
import pytest

from pipelines.run_monitor import Worker, fail_dead_runs, is_alive, worker_of
from pipelines.settings import PROJECT_ROOT


def wait_for(condition: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


@pytest.fixture
def dagster_home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    yield home


def start_cli_run(home: Path) -> subprocess.Popen:
    """What `python -m pipelines run` does: execute a job in its own process, tagged with it."""
    env = {**os.environ, "DAGSTER_HOME": str(home), "DO_NOT_TRACK": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.monitoring.location"], cwd=PROJECT_ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip


def started_run(instance: dg.DagsterInstance, process: subprocess.Popen) -> dg.DagsterRun:
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "waiting"  # the op is running
    [run] = [r for r in instance.get_runs() if r.tags.get("journey/pid") == str(process.pid)]
    assert run.status == dg.DagsterRunStatus.STARTED
    return run


def test_a_killed_cli_run_is_marked_failed_and_a_live_one_is_left_alone(dagster_home: Path):
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    doomed, alive = start_cli_run(dagster_home), start_cli_run(dagster_home)
    try:
        doomed_run, alive_run = started_run(instance, doomed), started_run(instance, alive)
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=30)
        # killed: nothing ends the run, and it would block the queue forever
        assert instance.get_run_by_id(doomed_run.run_id).status == dg.DagsterRunStatus.STARTED
        assert fail_dead_runs(instance) == [doomed_run.run_id]
        assert instance.get_run_by_id(doomed_run.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive_run.run_id).status == dg.DagsterRunStatus.STARTED
        [failure] = instance.all_logs(doomed_run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        assert f"pid {doomed.pid}" in failure.message and "is gone" in failure.message
        assert fail_dead_runs(instance) == []  # idempotent; the live run is never touched
    finally:
        for process in (doomed, alive):
            process.kill()
            process.wait(timeout=30)


def test_a_pid_taken_by_a_newer_process_is_not_the_worker():
    me = psutil.Process()
    assert is_alive(Worker(me.pid, None, started_by=me.create_time())) is True
    assert is_alive(Worker(me.pid, None, started_by=me.create_time() - 3600)) is False
    assert is_alive(Worker(me.pid, "another-host", started_by=me.create_time())) is None
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert is_alive(Worker(gone.pid, None, started_by=time.time())) is False


def test_a_run_without_process_information_is_left_alone(dagster_home: Path):
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    run = instance.create_run_for_job(
        job_def=dg.GraphDefinition(name="bare", node_defs=[]).to_job(),
        status=dg.DagsterRunStatus.STARTED,
    )
    assert worker_of(instance, run) is None
    assert fail_dead_runs(instance) == []
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
