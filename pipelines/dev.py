"""`python -m pipelines dev`: the Dagster UI, the daemon (schedule, sensors, queued runs) and
the code server — `dagster dev` — stopped within seconds of Ctrl-C or SIGTERM, with nothing
left behind.

`dagster dev` shuts its children down itself, but how long that takes depends on what they are
doing (a code server still loading the definitions, a run in progress whose dbt subprocess is
given 25 s to stop): up to a minute was measured on a loaded machine. So `dagster dev` runs in
its own process group; a signal to this command asks the whole group to stop (SIGTERM, which
`dagster dev` forwards as it should), waits `GRACE_SECONDS`, then kills whatever is left in the
group (SIGKILL) and waits until it is gone. Dagster's storage is SQLite, whose writes are
atomic, so a killed process leaves it consistent; a run killed this way is marked failed by
run monitoring the next time the daemon runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from pipelines.settings import PROJECT_ROOT

GRACE_SECONDS = 3.0
KILL_WAIT_SECONDS = 1.5


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_for_group(group: int, process: subprocess.Popen, seconds: float) -> bool:
    """True once no process of `group` is left (reaping our own child on the way)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        process.poll()
        if not _group_alive(group):
            return True
        time.sleep(0.05)
    process.poll()
    return not _group_alive(group)


def stop_group(process: subprocess.Popen, grace_seconds: float = GRACE_SECONDS) -> None:
    """Stop `process` and every process of its group: SIGTERM, then SIGKILL after the grace."""
    group = process.pid
    for signal_number, wait in (
        (signal.SIGTERM, grace_seconds),
        (signal.SIGKILL, KILL_WAIT_SECONDS),
    ):
        try:
            os.killpg(group, signal_number)
        except ProcessLookupError:
            break
        if _wait_for_group(group, process, wait):
            break
    process.poll()


def supervise(command: list[str], name: str) -> int:
    """Run `command` in a process group of its own until it ends or this process is asked to
    stop (SIGINT, SIGTERM, SIGHUP), then stop the whole group (`stop_group`).

    The handlers are installed before the command starts, for two reasons. A signal at any
    moment after that is a stop (before, it ended this process and left the command running on
    in its own session). And the command starts with those signals at their defaults (an exec
    resets handled signals and keeps ignored ones) even when this process started with SIGINT
    ignored — `nohup make dev`, `make dev &` in a script, a test worker: `dagster dev` gives
    SIGTERM whatever SIGINT does, so it inherited SIGINT ignored and ignored the SIGTERM that
    asks it to stop, and every stop waited for the SIGKILL after the grace."""
    stop = threading.Event()

    def request_stop(signal_number: int, frame: object) -> None:
        stop.set()

    previous = {
        number: signal.signal(number, request_stop)
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    try:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, start_new_session=True)
        try:
            while process.poll() is None and not stop.wait(0.2):
                pass
            if stop.is_set():
                print(f"stopping {name} ...", file=sys.stderr, flush=True)
        finally:
            stop_group(process)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    code = process.returncode
    return 0 if stop.is_set() or code is None else code


def run_dev(host: str, port: int, workspace: Path = PROJECT_ROOT / "workspace.yaml") -> int:
    """Run `dagster dev` until it ends or this process is asked to stop."""
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-w", str(workspace), "-h", host, "-p", str(port)]
    print(f"Dagster UI on http://{host}:{port} (Ctrl-C stops everything)", flush=True)
    return supervise(command, "the Dagster UI, daemon and code server")
