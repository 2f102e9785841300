"""pre-commit runs the checks of `make lint`, from the project's virtualenv (issue 16, item 8)."""

from __future__ import annotations

import subprocess

import yaml

from pipelines.settings import PROJECT_ROOT


def _hooks() -> dict[str, dict]:
    config = yaml.safe_load((PROJECT_ROOT / ".pre-commit-config.yaml").read_text())
    # a remote hook repository would be downloaded on first use: every hook is local
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    return {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}


def _make_lint_commands() -> str:
    dry_run = subprocess.run(
        ["make", "-n", "-W", ".venv/.synced", "lint", "lint-sql"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dry_run.stdout


def test_pre_commit_runs_what_make_lint_runs():
    hooks = _hooks()
    assert set(hooks) == {"ruff", "ruff-format", "mypy", "sqlfluff"}
    assert all(hook["language"] == "system" for hook in hooks.values())
    lint = _make_lint_commands()
    for tool in (".venv/bin/ruff check", ".venv/bin/ruff format --check", ".venv/bin/mypy"):
        assert tool in lint
        assert any(hook["entry"].startswith(tool) for hook in hooks.values()), tool
    assert "sqlfluff lint dbt_project/models" in lint
    assert hooks["sqlfluff"]["entry"] == "make lint-sql"


def test_mypy_is_strict_on_the_pure_modules():
    import tomllib

    mypy = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert mypy["files"] == ["pipelines"]
    [strict] = [o for o in mypy["overrides"] if o.get("disallow_untyped_defs")]
    assert {"pipelines.privacy.*", "pipelines.extract.http", "pipelines.identity.stitch"} <= set(
        strict["module"]
    )
    # a module with known debt is never also declared strict
    [debt] = [o for o in mypy["overrides"] if "disable_error_code" in o]
    assert not set(debt["module"]) & set(strict["module"])
