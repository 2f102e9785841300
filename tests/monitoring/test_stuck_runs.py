"""The stuck night, for real (issue 18, item 9): a real `dagster-daemon` with the project's
instance settings (one run at a time) launches a run; the machine "dies" (the daemon, its code
server and the run worker are killed); the next night is queued; a new daemon comes up. The
dead run must be marked failed and the queued night must start, instead of waiting forever.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from pipelines.settings import PROJECT_ROOT
from tests.monitoring.test_run_monitor import wait_for

pytestmark = pytest.mark.e2e
BIN = PROJECT_ROOT / ".venv" / "bin"


class Deployment:
    """A temporary DAGSTER_HOME with the project's dagster.yaml and a workspace."""

    def __init__(self, root: Path) -> None:
        self.home = root / "dagster_home"
        self.home.mkdir()
        shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", self.home / "dagster.yaml")
        self.workspace = root / "workspace.yaml"
        self.workspace.write_text(
            "load_from:\n"
            "  - python_module:\n"
            "      module_name: tests.monitoring.location\n"
            f"      working_directory: {PROJECT_ROOT}\n"
            "      location_name: monitor_test\n"
        )
        self.env = {
            **os.environ,
            "DAGSTER_HOME": str(self.home),
            "DO_NOT_TRACK": "1",
            "PYTHONPATH": str(PROJECT_ROOT),
        }
        self.logs = root / "logs"
        self.logs.mkdir()
        self.daemons: list[subprocess.Popen] = []

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))

    def start_daemon(self) -> subprocess.Popen:
        log = open(self.logs / f"daemon-{len(self.daemons)}.log", "w")  # noqa: SIM115
        daemon = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", str(self.workspace)],
            cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its code server and run workers share its process group
        )  # fmt: skip
        self.daemons.append(daemon)
        return daemon

    def kill(self, daemon: subprocess.Popen) -> None:
        """Everything the daemon started dies at once, as in a crash or a reboot."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait(timeout=60)

    def submit(self) -> str:
        """A night: the job submitted to the queue (what the schedule does)."""
        before = {run.run_id for run in self.instance().get_runs()}
        done = subprocess.run(
            [str(BIN / "dagster"), "job", "launch", "-w", str(self.workspace), "-j", "waiting"],
            cwd=PROJECT_ROOT, env=self.env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        [run_id] = {run.run_id for run in self.instance().get_runs()} - before
        return run_id

    def status(self, run_id: str) -> dg.DagsterRunStatus:
        return self.instance().get_run_by_id(run_id).status

    def worker_started(self, run_id: str) -> bool:
        logs = self.instance().all_logs(run_id)
        return any((entry.user_message or "").strip() == "waiting" for entry in logs)


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    deployment = Deployment(tmp_path)
    yield deployment
    for daemon in deployment.daemons:
        deployment.kill(daemon)


def test_a_run_killed_with_its_daemon_does_not_block_the_next_night(deployment: Deployment):
    night_one = deployment.submit()  # before any daemon: no race creating the storage
    first = deployment.start_daemon()
    wait_for(lambda: deployment.worker_started(night_one), 240, "the first night to run")
    deployment.kill(first)
    assert deployment.status(night_one) == dg.DagsterRunStatus.STARTED  # stuck for good

    night_two = deployment.submit()
    assert deployment.status(night_two) == dg.DagsterRunStatus.QUEUED
    deployment.start_daemon()
    wait_for(
        lambda: deployment.status(night_one) == dg.DagsterRunStatus.FAILURE,
        240,
        "the dead run to be marked failed",
    )
    wait_for(lambda: deployment.worker_started(night_two), 240, "the next night to run")
    failure = deployment.instance().all_logs(night_one, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert "is gone" in failure[-1].message
