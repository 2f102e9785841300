"""`make dev` stops within 5 s of Ctrl-C or SIGTERM and leaves no process behind.

`make dev` is started as a user's terminal would (its own process group, a free port, a
temporary DAGSTER_HOME); once the UI answers, the signal goes to the whole group, and every
process carrying that DAGSTER_HOME in its environment (make, the wrapper, `dagster dev`, the
webserver, the daemon, the code server and its subprocess) must be gone within 5 s.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import psutil
import pytest

from pipelines.settings import PROJECT_ROOT

STARTUP_SECONDS = 300


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
