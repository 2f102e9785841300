"""How the pipeline talks to dbt: environment, vars and the manifest (no Dagster here).

The dbt profile and sources read their paths from environment variables (see
`dbt_project/profiles.yml`), so a missing setting fails at once. `dbt_environment` is the one
place that maps `Settings` to those variables.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from pipelines.console import announce
from pipelines.identity.rules import NORMALISATION_ENV, load_rules, normalisation_declaration
from pipelines.settings import DBT_PROJECT_DIR, Settings
from pipelines.spark.tables import spark_environment

TELEMETRY_OFF = {"DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def rules_environment() -> dict[str, str]:
    """What every dbt invocation needs besides paths: telemetry off, and the identifier
    normalisation of config/identity.yml (dbt macro `normalised_identifier`, contracts §5.4)."""
    declaration = json.dumps(normalisation_declaration(load_rules()), sort_keys=True)
    return {**TELEMETRY_OFF, NORMALISATION_ENV: declaration}


# dbt selection of the models the identity step reads (everything up to the evidence model)
# and, by exclusion, of the models that need the identity tables.
PRE_IDENTITY_SELECT = "staging +int_identity_evidence"


def dbt_environment(settings: Settings) -> dict[str, str]:
    """The variables of a dbt invocation; with JOURNEY_ENGINE=spark also the profile's `spark`
    target and its folders (pipelines/spark/tables.py)."""
    engine = (
        spark_environment(settings.spark_dir, settings.spark_master)
        if settings.engine == "spark"
        else {}
    )
    limits = settings.duckdb_limits
    return {
        "JOURNEY_DBT_DUCKDB_PATH": str(settings.build_warehouse_path),
        # the profile's DuckDB `settings:` (memory ceiling, spill folder beside the build)
        "JOURNEY_DUCKDB_MEMORY_LIMIT": limits.memory_limit,
        "JOURNEY_DUCKDB_TEMP_DIRECTORY": str(limits.temp_directory),
        "JOURNEY_LANDING_DIR": str(settings.landing_dir),
        "JOURNEY_QUARANTINE_DIR": str(settings.quarantine_dir),
        "JOURNEY_IDENTITY_DIR": str(settings.build_identity_dir),
        # dbt var reporting_timezone: the marts' <event>_local_date columns are days in this zone
        "JOURNEY_SCHEDULE_TIMEZONE": settings.schedule_timezone,
        **rules_environment(),
        **engine,
    }


def dbt_target_path(settings: Settings) -> Path:
    """dbt's target folder for runs against this build folder (manifest, partial parse, logs)."""
    return settings.build_dir / "dbt_target"


RUN_DATE_ENV = "JOURNEY_RUN_DATE"


def run_environment(*, last_day: date) -> dict[str, str]:
    """The run's last data day for dbt: `env_var('JOURNEY_RUN_DATE')` in a model that needs it.

    An environment variable, not `--vars`: dbt re-parses the whole project when the vars of an
    invocation differ from the last parse's (partial parsing keeps a hash of them), so a new
    date in `--vars` every night cost a full parse per night; a changed environment variable
    re-parses only the files that read it (none today). Business rules stay dbt vars in
    dbt_project.yml and seeds (DECISIONS.md, "The run date reaches dbt as
    `JOURNEY_RUN_DATE`")."""
    return {RUN_DATE_ENV: last_day.isoformat()}


def _newest_source_mtime(project_dir: Path) -> float:
    newest = (project_dir / "dbt_project.yml").stat().st_mtime
    for folder in ("models", "macros", "seeds", "snapshots", "tests", "analyses"):
        root = project_dir / folder
        if root.exists():
            for path in root.rglob("*"):
                if path.is_file():
                    newest = max(newest, path.stat().st_mtime)
    return newest


def dbt_executable() -> str:
    """The dbt of this virtualenv (the venv's bin folder need not be on PATH)."""
    return str(Path(sys.executable).with_name("dbt"))


def generate_docs(settings: Settings, out_dir: Path, project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """`dbt docs generate --static` against the staging warehouse; one self-contained HTML
    file (opens from disk, no server) copied to `out_dir/index.html`.

    `--no-compile` reuses the manifest the run's dbt builds left in the target folder (every
    node is parsed there) instead of compiling the whole project again (4 s of 7 s); not on
    Spark, whose builds left a Spark manifest.

    With JOURNEY_ENGINE=spark the catalog is read from the build's DuckDB file, which holds a
    copy of every Spark table by then (`copy_to_duckdb`): the relations analysts query, and
    one query instead of Spark catalog calls per relation (345 s for a 50-person demo). A
    target folder of its own keeps the Spark invocations' partial parse."""
    target = dbt_target_path(settings)
    env = {
        **os.environ,
        **dbt_environment(settings),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target),
    }
    if settings.engine == "spark":
        target = target / "docs_duckdb"
        env.update(
            JOURNEY_DBT_TARGET="duckdb", DBT_TARGET_PATH=str(target), DBT_LOG_PATH=str(target)
        )
    reuse = [] if settings.engine == "spark" else ["--no-compile"]
    completed = subprocess.run(
        [dbt_executable(), "docs", "generate", "--static", *reuse, "--project-dir", str(project_dir),
         "--profiles-dir", str(project_dir)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise RuntimeError("dbt docs generate failed:\n" + completed.stdout[-4000:])
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / "index.html"
    partial = out_dir / "index.html.tmp"
    partial.write_bytes((target / "static_index.html").read_bytes())
    os.replace(partial, page)
    return page


def ensure_manifest(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """Return target/manifest.json, running `dbt parse` first if it is missing or stale.

    Dagster needs the manifest to build the asset graph when the code location loads.
    Parsing needs the profile's variables; placeholders are enough because parsing
    neither connects nor reads data.
    """
    with tempfile.TemporaryDirectory(prefix="journey-dbt-parse-env-") as tmp:
        env = {
            **os.environ,
            "JOURNEY_DBT_DUCKDB_PATH": str(Path(tmp) / "parse.duckdb"),
            "JOURNEY_LANDING_DIR": str(Path(tmp) / "landing"),
            "JOURNEY_QUARANTINE_DIR": str(Path(tmp) / "quarantine"),
            "JOURNEY_IDENTITY_DIR": str(Path(tmp) / "identity"),
            **rules_environment(),
        }
        return parsed_artifact(project_dir, "manifest.json", env)


def parsed_artifact(project_dir: Path, name: str, env: dict[str, str]) -> Path:
    """`target/<name>` of `dbt parse` (with `env`), parsed again when the project changed.

    Processes needing it at the same time (test workers, `dagster dev`'s code server, a CLI
    run) parse once: the first takes a file lock, parses into its own folder and renames the
    artifact into place, so nobody ever reads a half-written one. A failed parse raises
    `RuntimeError` with dbt's output.
    """
    from filelock import FileLock

    artifact = project_dir / "target" / name

    def fresh() -> bool:
        return artifact.exists() and artifact.stat().st_mtime >= _newest_source_mtime(project_dir)

    if fresh():
        return artifact
    artifact.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(artifact.parent / f".{name}.lock")):
        if fresh():  # another process parsed while this one waited
            return artifact
        announce(f"parsing the dbt project for {name} (after a change to it, or the first time)")
        with tempfile.TemporaryDirectory(prefix="journey-dbt-parse-") as tmp:
            completed = subprocess.run(
                [dbt_executable(), "parse", "--project-dir", str(project_dir),
                 "--profiles-dir", str(project_dir), "--target-path", tmp],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )  # fmt: skip
            if completed.returncode != 0:
                raise RuntimeError(
                    f"dbt parse failed ({name}); fix the dbt project before loading the pipeline:\n"
                    + (completed.stdout[-4000:] or completed.stderr[-4000:])
                )
            staged = artifact.with_name(f".{artifact.stem}.{os.getpid()}{artifact.suffix}")
            shutil.copyfile(Path(tmp) / name, staged)
            os.replace(staged, artifact)
    return artifact
