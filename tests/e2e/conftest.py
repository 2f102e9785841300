"""The whole nightly job, for real: generated data served by the sandbox vendor APIs over
HTTP, the real connectors, identity stitching, both dbt invocations, the quality gates and the
publish step, executed by Dagster in a temporary instance and folders.

Each test module gets its own dataset, folders, Dagster instance and sandbox server (see
`Pipeline`); the environment variables a run reads are set for the module and restored after.
The first warehouse is built by the README's `make demo`, run as a user runs it (a process
whose every output line is timed); later nights run the README's commands as printed
(`Pipeline.readme`) or the CLI in process (`Pipeline.run`).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from pipelines.cli import main as cli
from pipelines.settings import PROJECT_ROOT, Settings, temporary_environment
from tests.readme import project_like_folder, readme_command, run_as_printed

PERSONS = 300
SEED = 23
LAST_DAY = date(2026, 9, 30)


@dataclass
class Outcome:
    success: bool
    report_path: Path

    @property
    def report(self) -> dict:
        return json.loads(self.report_path.read_text())


@dataclass
class Pipeline:
    root: Path
    dataset: Path
    sandbox: object
    demo_exit_code: int
    demo_output: list[tuple[float, str]]
    """`make demo`'s output lines (standard output and error), each with the seconds since the
    command started."""

    @property
    def settings(self) -> Settings:
        return Settings.from_env()

    def run(self, *arguments: str) -> Outcome:
        """`python -m pipelines run ...` (default: the last demo day), in this process."""
        code = cli(["run", *(arguments or ("--date", LAST_DAY.isoformat()))])
        return Outcome(code == 0, self.settings.report_dir / "latest.json")

    def readme(self, prefix: str, **env: str) -> subprocess.CompletedProcess:
        """The README command starting with `prefix`, run as printed in a folder laid out like
        the project after `make demo` (its `warehouse/` is this pipeline's)."""
        folder = project_like_folder(self.root, self.settings.warehouse_path.parent)
        return run_as_printed(readme_command(prefix), folder, env)

    def readme_run(self, prefix: str, **env: str) -> Outcome:
        done = self.readme(prefix, **env)
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        return Outcome(done.returncode == 0, self.settings.report_dir / "latest.json")

    def query(self, sql: str, path: Path | None = None) -> pl.DataFrame:
        con = duckdb.connect(str(path or self.settings.warehouse_path), read_only=True)
        try:
            return con.sql(sql).pl()
        finally:
            con.close()

    def truth(self, name: str) -> str:
        return f"read_parquet('{self.dataset / 'truth' / name}.parquet')"

    def digest(self) -> str:
        return hashlib.sha256(self.settings.warehouse_path.read_bytes()).hexdigest()

    def contents(self) -> dict[str, pl.DataFrame]:
        """Every published table, rows sorted, for content comparisons."""
        tables = self.query(
            "select table_schema || '.' || table_name as name from information_schema.tables "
            "where table_schema in ('marts', 'identity') order by 1"
        )["name"].to_list()
        frames = {}
        for name in tables:
            frame = self.query(f"select * from {name}")
            frames[name] = frame.sort(frame.columns, nulls_last=True)
        return frames


def make_demo(dataset: Path, persons: int, seed: int) -> tuple[int, list[tuple[float, str]]]:
    """`make demo` (the README's first command) for a dataset of this size, every output line
    timed as it arrives."""
    arguments = f"--persons {persons} --seed {seed} --out {dataset}"
    started = time.monotonic()
    process = subprocess.Popen(
        ["make", "demo", f"DEMO_ARGS={arguments}"],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = [(time.monotonic() - started, line.rstrip("\n")) for line in process.stdout]
    return process.wait(), lines


@contextmanager
def pipeline(root: Path, *, persons: int = PERSONS, seed: int = SEED) -> Iterator[Pipeline]:
    """Folders and a Dagster instance under `root`; the README's `make demo` builds the first
    warehouse (it generates the dataset, serves it, runs the job, stops its server); then a
    sandbox on the same dataset serves the nights the tests run."""
    from devkit.sandbox import SandboxServer

    dataset = root / "dataset"
    dagster_home = root / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(
        (PROJECT_ROOT / "dagster_home" / "dagster.yaml").read_text()
    )
    folders = {
        "JOURNEY_DATA_DIR": str(root / "data"),
        "JOURNEY_WAREHOUSE_PATH": str(root / "warehouse" / "journey.duckdb"),
        "DAGSTER_HOME": str(dagster_home),
        "DO_NOT_TRACK": "1",
        "GX_ANALYTICS_ENABLED": "false",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    with temporary_environment(folders):
        demo_exit_code, demo_output = make_demo(dataset, persons, seed)
        with (
            SandboxServer(dataset) as sandbox,
            temporary_environment({**sandbox.env(), "JOURNEY_DROP_DIR": str(dataset / "drop")}),
        ):
            yield Pipeline(
                root=root,
                dataset=dataset,
                sandbox=sandbox,
                demo_exit_code=demo_exit_code,
                demo_output=demo_output,
            )


# --- corrupting inputs through the real path (quality-gate scenarios) ---------------------

CORRUPT_AT = datetime(2026, 9, 30, 18, 0, tzinfo=UTC)


def latest_version(run, source: str, stream: str, **match) -> dict:
    """The latest version of the first record of a vendor stream matching `match`."""
    frame = pl.read_parquet(run.dataset / "vendor" / source / f"{stream}.parquet")
    records = [json.loads(text) for text in frame.sort("updated_at")["record"]]
    latest = {str(r["id"]): r for r in records}
    for record in latest.values():
        if all(record.get(key) == value for key, value in match.items()):
            return record
    raise AssertionError(f"no {source}/{stream} record matching {match}")


def serve_version(run, source: str, stream: str, record: dict, minutes: int) -> None:
    run.sandbox.upsert(source, stream, record, updated_at=CORRUPT_AT + timedelta(minutes=minutes))


def assert_blocked(run, outcome, asset: str, check: str) -> dict:
    report = outcome.report
    assert not outcome.success and report["published"] is False
    failures = {(f["asset"], f["check"]): f for f in report["checks"]["failures"]}
    assert (asset, check) in failures, sorted(failures)
    failure = failures[(asset, check)]
    assert failure["blocking"], failure
    metadata = failure["metadata"]
    if "failed_rows" in metadata:  # a row-level check names its rows; a table-level one its bound
        assert metadata["failed_rows"] >= 1 and metadata["sample"], failure
    else:
        assert metadata["observed"] is not None and metadata["bound"], failure
    assert check in report["publish"]["reason"]
    return failure
