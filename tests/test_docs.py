"""Docs drift is a bug: what the README and .env.example promise exists and answers."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from pipelines.settings import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text()
ENV_EXAMPLE = (PROJECT_ROOT / ".env.example").read_text()
SETTING = re.compile(r'"((?:JOURNEY|MATOMO|MAILCHIMP|SHOPIFY|ZENDESK)_[A-Z_]+)"')


def test_every_setting_is_in_the_readme_and_env_example():
    names = set(SETTING.findall((PROJECT_ROOT / "pipelines" / "settings.py").read_text()))
    assert len(names) >= 25
    assert sorted(n for n in names if n not in README) == []
    assert sorted(n for n in names if n not in ENV_EXAMPLE) == []


@pytest.mark.parametrize(
    "target", sorted(set(re.findall(r"`make ([a-z-]+)`", README)) | {"demo", "test"})
)
def test_every_make_target_the_readme_names_exists(target):
    done = subprocess.run(
        ["make", "-n", target], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_ci_runs_the_lint_and_exactly_the_readme_test_command():
    commands = [
        line.strip()
        for line in (PROJECT_ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip()
        and not line.lstrip().startswith("#")
        and not line.startswith(("set ", "cd "))
    ]
    assert commands == ["make lint", "make test"]
    assert "make test    # install, run the whole test suite" in README


@pytest.mark.parametrize(
    "module",
    ["pipelines", "pipelines.identity", "devkit.demo", "devkit.sandbox", "bench.run",
     "bench.generate_bench", "bench.extract_bench", "bench.identity_bench",
     "bench.warehouse_bench", "bench.nightly_bench", "bench.backfill_bench",
     "bench.publish_bench", "bench.report_bench"],
)  # fmt: skip
def test_every_python_command_the_readme_names_answers_help(module):
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage" in done.stdout.lower()


def test_make_dev_loads_the_code_location_with_its_job_and_schedule(tmp_path):
    """What `make dev` serves: the workspace loads, the nightly job and schedule exist."""
    done = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "dagster"), "definitions", "validate",
         "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin", "DAGSTER_HOME": str(tmp_path), "DO_NOT_TRACK": "1",
             "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    from pipelines.definitions import defs

    assert defs.resolve_job_def("nightly") is not None
    assert defs.resolve_schedule_def("nightly_schedule").cron_schedule == "0 2 * * *"
