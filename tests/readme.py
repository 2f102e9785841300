"""The README's commands, as printed, for the tests that run them.

`readme_commands()` lists every command of the README's fenced `bash` and `python` code blocks
(bash: one per line, backslash continuations joined; python: the whole block). `readme_command(prefix)` is the one
command starting with `prefix` — a test runs exactly that text with `run_as_printed`, in a
folder laid out like the project root after `make demo` (`.venv`, `warehouse/` …), so a README
that drifts from what works fails a test. `TESTED_BY` says which test runs each command;
tests/test_readme.py checks that no README command is left out.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pipelines.settings import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)

# README command (its start) → the test that runs it as printed
TESTED_BY = {
    "make demo": "tests/e2e/conftest.py::pipeline (every e2e module starts with it)",
    "make test": "CI (.ci/run); tests/test_docs.py checks the two agree",
    "make dev": "tests/test_dev.py",
    ".venv/bin/python -m pipelines check-connections": "tests/extract/test_connections.py",
    ".venv/bin/python -m pipelines run --date": "tests/e2e/test_nightly.py (the re-run night)",
    ".venv/bin/python -m pipelines run --start": "tests/e2e/test_quality_gates.py (a backfill)",
    ".venv/bin/python -m pipelines run --full-refresh": "tests/e2e/test_nightly.py",
    ".venv/bin/python -m pipelines run ": "tests/e2e/test_nightly.py (yesterday's night)",
    ".venv/bin/python -m pipelines query": "tests/e2e/test_nightly.py",
    ".venv/bin/python -m pipelines summary": "tests/e2e/test_nightly.py",
    "duckdb -readonly": "tests/e2e/test_nightly.py (when the DuckDB CLI is installed)",
    "import duckdb\n\ncon = duckdb.connect": "tests/e2e/test_nightly.py",
    "import duckdb\n\nduckdb.sql(": "tests/e2e/test_nightly.py",
    "import sqlalchemy as sa": "tests/e2e/test_nightly.py",
    ".venv/bin/python -m pipelines report ": "tests/e2e/test_nightly.py",
    ".venv/bin/python -m pipelines report --from": "tests/e2e/test_nightly.py",
    ".venv/bin/python -m pipelines report --out": "tests/e2e/test_nightly.py",
    ".venv/bin/python -m pipelines report --person": "tests/e2e/test_nightly.py",
    ".venv/bin/python -m pipelines.identity explain": "tests/identity/test_demo_accuracy.py",
    ".venv/bin/python -m pipelines metrics list": "tests/e2e/test_publish_surface.py",
    ".venv/bin/python -m pipelines metrics query": "tests/e2e/test_publish_surface.py",
    "from pipelines.warehouse.metrics import query_metrics": "tests/e2e/test_publish_surface.py",
}


@dataclass(frozen=True)
class Command:
    language: str
    text: str


def readme_commands(text: str | None = None) -> list[Command]:
    text = README.read_text() if text is None else text
    commands = []
    for language, body in FENCE.findall(text):
        if language not in ("bash", "sh", "python"):
            continue  # a listing (the layout tree), not commands
        if language == "python":
            commands.append(Command(language, body))
            continue
        joined = re.sub(r"\\\n\s*", "", body)
        for line in joined.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                commands.append(Command(language, line.strip()))
    return commands


def _command_part(text: str) -> str:
    """A shell line without its trailing comment."""
    return text.split("  #", 1)[0].strip()


def readme_command(prefix: str) -> str:
    """The README command that starts with `prefix` (exactly as printed); when several do,
    the one that is exactly `prefix` (`... pipelines run ` is the plain nightly command)."""
    found = [c.text for c in readme_commands() if (c.text + " ").startswith(prefix)]
    exact = [text for text in found if _command_part(text) == prefix.strip()]
    if len(found) > 1 and len(exact) == 1:
        return exact[0]
    assert len(found) == 1, f"README commands starting with {prefix!r}: {found}"
    return found[0]


def project_like_folder(root: Path, warehouse_dir: Path) -> Path:
    """A folder laid out like the project after `make demo`: `.venv` and `warehouse/`."""
    folder = root / "project"
    folder.mkdir(exist_ok=True)
    for name, target in ((".venv", PROJECT_ROOT / ".venv"), ("warehouse", warehouse_dir)):
        link = folder / name
        if not link.exists():
            link.symlink_to(target, target_is_directory=True)
    return folder


def run_as_printed(
    command: str, folder: Path, env: dict[str, str] | None = None, timeout: float = 1200
) -> subprocess.CompletedProcess:
    """`command` run by bash in `folder` (Python code: by the venv's python), as a user would;
    the project's packages are importable as from a checkout."""
    environment = {**os.environ, **(env or {}), "PYTHONPATH": str(PROJECT_ROOT)}
    if command.startswith(("import ", "from ")):
        argv = [str(folder / ".venv" / "bin" / "python"), "-c", command]
    else:
        argv = ["bash", "-c", command]
    return subprocess.run(
        argv, cwd=folder, env=environment, capture_output=True, text=True, timeout=timeout
    )
