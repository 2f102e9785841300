"""Great Expectations imported ahead of the checks, in the background, and without PySpark.

Importing GX takes ~5 CPU-seconds (tens of seconds of wall time on a loaded machine), and the
first check step of a run used to wait for all of it. `prefetch_gx()` starts that import in a
daemon thread when a run begins (the extraction steps, which mostly wait on vendor APIs, run
meanwhile); the first check step then finds GX imported, or waits on Python's import lock for
the rest of it. An import that fails in the thread is retried, and reported, by the check step
itself (`pipelines.quality.runner.import_gx`).

GX imports PySpark when it is installed (its optional Spark datasource) — a fifth of its import
time; the checks validate pandas frames, so `load_gx` hides PySpark from GX while it imports,
unless something in the process already imported PySpark (then GX gets it as before).
DECISIONS.md, "Great Expectations is imported in the background".
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from types import ModuleType

log = logging.getLogger(__name__)

_lock = threading.Lock()
_thread: threading.Thread | None = None
HIDDEN = ("pyspark",)  # optional GX integrations the checks never use


def load_gx() -> ModuleType:
    """Import Great Expectations (analytics off), with PySpark hidden if nothing imported it."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    hidden = [name for name in HIDDEN if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # Python's "no such module" marker
    try:
        import great_expectations
    finally:
        for name in hidden:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]
    return great_expectations


def prefetch_gx() -> None:
    """Start importing GX in a daemon thread (once per process; nothing if it is imported)."""
    global _thread
    with _lock:
        if _thread is not None or "great_expectations" in sys.modules:
            return
        _thread = threading.Thread(target=_prefetch, name="gx-import", daemon=True)
        _thread.start()


def _prefetch() -> None:
    try:
        load_gx()
    except Exception as error:  # the check step imports it again and reports the failure
        log.warning("importing Great Expectations in the background failed: %s", error)
