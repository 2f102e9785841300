"""Every error of `python -m pipelines` is one clear line and a non-zero exit (issue 18 item
13): the real command in a subprocess, on a fresh or a broken setup, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.settings import PROJECT_ROOT
from pipelines.warehouse.build import BuildLock
from pipelines.warehouse.publish import publish
from tests.warehouse.builds import SPEC, build, settings_for


def _cli(root: Path, *arguments: str, **variables: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JOURNEY_", "MATOMO_", "MAILCHIMP_", "SHOPIFY_", "ZENDESK_"))
    }
    env.update(
        JOURNEY_DATA_DIR=str(root / "data"),
        JOURNEY_WAREHOUSE_PATH=str(root / "warehouse" / "journey.duckdb"),
        DAGSTER_HOME=str(root / "dagster_home"),
        **variables,
    )
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *arguments],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _one_line_error(done: subprocess.CompletedProcess, *fragments: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    ("arguments", "variables", "fragments"),
    [
        (["rollback"], {}, ["nothing to roll back to", "nothing has been published"]),
        (["summary"], {}, ["no published warehouse at", "make demo"]),
        (["query", "select 1"], {}, ["no published warehouse at"]),
        (["run"], {"JOURNEY_LOOKBACK_DAYS": "-1"}, ["JOURNEY_LOOKBACK_DAYS must be >= 0"]),
        (["run"], {"MATOMO_BASE_URL": "http://x"}, ["MATOMO_TOKEN", "partly configured"]),
        (["run", "--date", "2026-01-02", "--start", "2026-01-01"], {}, ["either --date or --start/--end"]),
        (["run", "--start", "2026-01-01"], {}, ["--start and --end go together"]),
        (["rollback"], {"JOURNEY_POSTGRES_URL": "mysql://x"}, ["JOURNEY_POSTGRES_URL must be a URL"]),
    ],
)  # fmt: skip
def test_each_command_fails_on_a_fresh_or_misconfigured_setup_in_one_line(
    tmp_path, arguments, variables, fragments
):
    _one_line_error(_cli(tmp_path, *arguments, **variables), *fragments)


def test_query_and_rollback_errors_on_a_published_warehouse(tmp_path):
    settings = settings_for(tmp_path)
    build(settings, "run-1", [1])
    publish(settings, run_id="run-1", spec=SPEC)
    _one_line_error(
        _cli(tmp_path, "query", "select nothing from nowhere"), "the query on", "nowhere"
    )
    _one_line_error(_cli(tmp_path, "rollback"), "only one generation has been published")

    BuildLock.acquire(settings.build_dir, "a-running-night")  # this test process is alive
    _one_line_error(_cli(tmp_path, "rollback"), "a-running-night", "is building the warehouse")
    BuildLock(settings.build_dir / ".lock", "a-running-night").release()

    build(settings, "run-2", [1, 2])
    publish(settings, run_id="run-2", spec=SPEC)
    done = _cli(tmp_path, "rollback")
    assert done.returncode == 0 and done.stdout.startswith("rolled back: "), done.stderr


def test_a_run_that_published_nothing_is_not_a_success() -> None:
    # A Spark night whose dbt events were hidden by Spark's progress bar skipped every later
    # step: Dagster called the run successful, and `run` exited 0 with nothing published.
    from pipelines.cli import run_verdict

    assert run_verdict(True, True) == "succeeded"
    assert run_verdict(True, False) == "FAILED (it published nothing)"
    assert run_verdict(False, False) == "FAILED"
