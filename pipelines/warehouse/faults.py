"""A test hook that kills the process at a named point of publish or rollback.

Crash safety is tested by running a publish or a rollback in a subprocess and SIGKILLing it
at each step (tests/warehouse/test_crash_safety.py). The code calls `fault_point(name)` between
its durable steps; nothing happens unless the environment variable `JOURNEY_FAULT_POINT` is set:

* `JOURNEY_FAULT_POINT=<name>` — the process kills itself (SIGKILL, no clean-up) the first time
  it reaches that point; `<name>#<n>`: the n-th time (a point can be passed more than once);
* `JOURNEY_FAULT_POINT=record:<file>` — every point passed is appended to `<file>`, so a test
  learns the points of one run and then kills a run at each of them.

It is read when a point is reached (never at import) and is not a setting: it is never set in
production.
"""

from __future__ import annotations

import os
import signal

FAULT_VARIABLE = "JOURNEY_FAULT_POINT"
_passes: dict[str, int] = {}


def fault_point(name: str) -> None:
    wanted = os.environ.get(FAULT_VARIABLE)
    if not wanted:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if wanted.startswith("record:"):
        with open(wanted.removeprefix("record:"), "a", encoding="utf-8") as points:
            points.write(f"{name}#{_passes[name]}\n")
        return
    point, _, nth = wanted.partition("#")
    if point == name and _passes[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
