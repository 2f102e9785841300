"""Great Expectations imported in the background, with PySpark hidden (pipelines/quality/gx_loader.py).

Each case runs in a fresh interpreter: the test process may have imported GX (and PySpark)
already, which is exactly the state the loader leaves alone.
"""

from __future__ import annotations

import json
import subprocess
import sys

from pipelines.settings import PROJECT_ROOT

SCRIPT = """
import json, sys, importlib.util
from pipelines.quality import gx_loader
gx_loader.prefetch_gx()
gx_loader.prefetch_gx()  # a second call starts no second thread
thread = gx_loader._thread
thread.join(300)
gx_loaded = "great_expectations" in sys.modules
pyspark_loaded = "pyspark" in sys.modules

import pandas as pd
from pipelines.quality.runner import import_gx, validate_frame
from pipelines.quality.suites import parse_suite
import_gx()
suite = parse_suite({
    "name": "t.orders",
    "meta": {"asset": ["example"], "frame": {"kind": "warehouse", "table": "marts.example"}},
    "expectations": [{"type": "expect_column_values_to_not_be_null",
                      "kwargs": {"column": "order_id"},
                      "meta": {"check": "order_id_not_null", "severity": "blocking"}}],
})
outcomes = validate_frame(suite, pd.DataFrame({"order_id": ["a", None, "c"]}))
import pyspark  # hidden from GX only while it imported, not for the rest of the process
print(json.dumps({
    "threads_started": thread is not None, "alive": thread.is_alive(), "gx": gx_loaded,
    "pyspark_during": pyspark_loaded,
    "outcomes": [(o.check, o.passed, o.failed_rows) for o in outcomes],
}))
"""


def test_gx_is_imported_in_the_background_without_pyspark_and_validates():
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "GX_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result == {
        "threads_started": True,
        "alive": False,
        "gx": True,
        "pyspark_during": False,
        "outcomes": [["order_id_not_null", False, 1]],
    }
