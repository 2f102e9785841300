"""What a person at a terminal sees while a command works (no Dagster here).

One line per event worth knowing, each with the time since the command started; and a
heartbeat: when nothing was printed for `heartbeat_seconds`, a line says what is still going
on and for how long — the *activity* (a step: "running dbt_after_identity") and its latest
*detail* ("dbt 2/2: running model int_sessions (104/392)") — so a slow step never looks like a
hung one.

The pipeline announces details through the Python logger `journey.activity` (DEBUG records,
never stored anywhere). While a console is active it listens to that logger; otherwise the
records are dropped at once.

`format_seconds` is the one way a duration is printed, on the console and in the run report.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

ACTIVITY_LOGGER = "journey.activity"
HEARTBEAT_SECONDS = 5.0

activity_log = logging.getLogger(ACTIVITY_LOGGER)
activity_log.propagate = False


def announce(text: str) -> None:
    """Say what the pipeline is doing now (the console's heartbeat repeats it)."""
    activity_log.debug(text)


def format_seconds(seconds: float | None) -> str:
    """`0.42 s`, `12.3 s`, `4 min 05 s`, `1 h 02 min`: the same everywhere."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def _clock(seconds: float) -> str:
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60:02d}:{whole % 60:02d}"
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class _ActivityHandler(logging.Handler):
    def __init__(self, console: Console) -> None:
        super().__init__(level=logging.DEBUG)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        self.console.detail(record.getMessage())


class Console:
    """Timestamped lines on `stream` (standard error by default) and a heartbeat thread."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self.heartbeat_seconds = heartbeat_seconds
        self._clock = clock
        self.started = clock()
        self._last_line = self.started
        self._activity: str | None = None
        self._activity_since = self.started
        self._detail: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._handler = _ActivityHandler(self)

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    # ---- output -----------------------------------------------------------------------------

    def line(self, text: str = "", *, label: str | None = None) -> None:
        """Print `[mm:ss] label  text` (an empty `text` prints an empty line)."""
        with self._lock:
            now = self._clock()
            self._last_line = now
            if not text:
                self.stream.write("\n")
            else:
                prefix = f"[{_clock(now - self.started)}] "
                if label:
                    prefix += f"{label:<24} "
                for index, part in enumerate(text.splitlines() or [""]):
                    lead = prefix if index == 0 else " " * len(prefix)
                    self.stream.write(f"{lead}{part}\n")
            self.stream.flush()

    def plain(self, text: str) -> None:
        """Print `text` as is (a summary, a report), counting as output for the heartbeat."""
        with self._lock:
            self._last_line = self._clock()
            self.stream.write(text if text.endswith("\n") else text + "\n")
            self.stream.flush()

    def activity(self, text: str | None) -> None:
        """What is going on now (a step, a phase of the command); clears the detail."""
        with self._lock:
            self._activity = text
            self._activity_since = self._clock()
            self._detail = None

    def detail(self, text: str | None) -> None:
        """The latest detail of the activity (a model, a page, a suite)."""
        with self._lock:
            self._detail = text

    def heartbeat(self) -> str | None:
        """The heartbeat line due now, if any (printed by the thread; public for tests)."""
        with self._lock:
            now = self._clock()
            if now - self._last_line < self.heartbeat_seconds:
                return None
            doing = self._activity or "working"
            since = now - (self._activity_since if self._activity else self._last_line)
            detail = f": {self._detail}" if self._detail else ""
        return f"… still {doing} ({format_seconds(since)}){detail}"

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> Console:
        if self._thread is None:
            activity_log.addHandler(self._handler)
            activity_log.setLevel(logging.DEBUG)
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._beat, name="console-heartbeat", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5)
            self._thread = None
            activity_log.removeHandler(self._handler)
            if not activity_log.handlers:
                activity_log.setLevel(logging.NOTSET)

    def _beat(self) -> None:
        tick = min(1.0, self.heartbeat_seconds / 4)
        while not self._stop.wait(tick):
            text = self.heartbeat()
            if text is not None:
                self.line(text)

    def __enter__(self) -> Console:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_active: list[Console] = []


@contextmanager
def active_console(console: Console) -> Iterator[Console]:
    """Make `console` the one the pipeline's console logger writes to, while it runs."""
    _active.append(console)
    console.start()
    try:
        yield console
    finally:
        console.stop()
        _active.remove(console)


def current_console() -> Console | None:
    """The console of the command running in this process, if any."""
    return _active[-1] if _active else None
