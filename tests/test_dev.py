"""`make dev` stops within 5 s of Ctrl-C or SIGTERM and leaves no process behind.

`make dev` is started as a user's terminal would (its own process group, a free port, a
temporary DAGSTER_HOME); once the UI answers, the signal goes to the whole group, and every
process carrying that DAGSTER_HOME in its environment (make, the wrapper, `dagster dev`, the
webserver, the daemon, the code server and its subprocess) must be gone within 5 s. And the
supervisor (pipelines/dev.py) starts `dagster dev` able to handle SIGTERM even when `make dev`
itself was started with SIGINT ignored.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from pipelines.settings import PROJECT_ROOT

STARTUP_SECONDS = 300
STOP_WAIT_SECONDS = 60

# a stand-in for `dagster dev` that sets up its signals as it does (SIGTERM does what SIGINT
# does), writes its /proc status, and waits to be stopped
DAGSTER_LIKE = """
import sys, time
from pathlib import Path
from dagster._utils.interrupts import setup_interrupt_handlers
setup_interrupt_handlers()
out = Path(sys.argv[1])
out.with_suffix(".tmp").write_text(Path("/proc/self/status").read_text())
out.with_suffix(".tmp").rename(out)
time.sleep(600)
"""
SUPERVISOR = (
    "import sys; from pipelines.dev import supervise; sys.exit(supervise(sys.argv[1:], 'x'))"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def processes_with_home(home: str) -> list[str]:
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "environ", "status"]):
        try:
            if (process.info["environ"] or {}).get("DAGSTER_HOME") != home:
                continue
            if process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            found.append(f"{process.pid} {' '.join(process.info['cmdline'] or [])[:120]}")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def wait_until_serving(port: int, make: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert make.poll() is None, "make dev exited before the UI answered"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"the Dagster UI did not answer on port {port}")


def ignored_signals(status: str) -> set[int]:
    """The signals a /proc/<pid>/status text says are ignored."""
    mask = int(next(line for line in status.splitlines() if line.startswith("SigIgn:"))[7:], 16)
    return {number for number in range(1, 65) if mask >> (number - 1) & 1}


def test_a_stop_reaches_dagster_dev_even_when_started_with_sigint_ignored(tmp_path: Path) -> None:
    """`nohup make dev`, `make dev &` in a script, or a test worker start it with SIGINT ignored.
    `dagster dev` makes SIGTERM do what SIGINT does, so it must not inherit the ignored SIGINT
    (it did: the supervisor started it before installing its own handlers), or it ignores the
    SIGTERM that asks it to stop and every stop waits for the SIGKILL after the grace."""
    status = tmp_path / "child-status"
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        supervisor = subprocess.Popen(
            [sys.executable, "-c", SUPERVISOR, sys.executable, "-c", DAGSTER_LIKE, str(status)],
            cwd=PROJECT_ROOT,
            start_new_session=True,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not status.exists():
            assert supervisor.poll() is None, "the supervisor ended before its command started"
            assert time.monotonic() < deadline, "the command did not start"
            time.sleep(0.2)
        child_status = status.read_text()
        child = psutil.Process(int(re.search(r"^Pid:\s*(\d+)$", child_status, re.MULTILINE)[1]))
        assert ignored_signals(child_status) & {signal.SIGINT, signal.SIGTERM} == set()
        # how fast a stop is, is the test below's (the real `make dev`); here: it is a stop
        os.killpg(supervisor.pid, signal.SIGTERM)
        assert supervisor.wait(timeout=STOP_WAIT_SECONDS) == 0
        child.wait(timeout=STOP_WAIT_SECONDS)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(supervisor.pid, signal.SIGKILL)
        supervisor.wait(timeout=10)


@pytest.mark.parametrize(
    "signal_number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"]
)
def test_make_dev_stops_within_5_seconds_and_leaves_nothing(tmp_path, signal_number):
    home = str(tmp_path / "dagster_home")
    os.mkdir(home)
    (tmp_path / "dagster_home" / "dagster.yaml").write_text(
        (PROJECT_ROOT / "dagster_home" / "dagster.yaml").read_text()
    )
    port = free_port()
    environment = {
        **os.environ,
        "DAGSTER_HOME": home,
        "JOURNEY_DATA_DIR": str(tmp_path / "data"),
        "JOURNEY_WAREHOUSE_PATH": str(tmp_path / "warehouse" / "journey.duckdb"),
    }
    log = (tmp_path / "make-dev.log").open("w")
    make = subprocess.Popen(
        ["make", "dev", f"DEV_PORT={port}", f"DAGSTER_HOME={home}"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a terminal's foreground process group
    )
    try:
        wait_until_serving(port, make)
        assert len(processes_with_home(home)) >= 4  # make, wrapper, dagster dev, its services
        signalled = time.monotonic()
        os.killpg(make.pid, signal_number)
        left = processes_with_home(home)
        while left and time.monotonic() - signalled < 5.0:
            time.sleep(0.1)
            make.poll()
            left = processes_with_home(home)
        assert left == [], (left, (tmp_path / "make-dev.log").read_text()[-3000:])
    finally:
        for process in psutil.process_iter(["environ"]):
            try:
                if (process.info["environ"] or {}).get("DAGSTER_HOME") == home:
                    process.kill()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        make.wait(timeout=10)
        log.close()
