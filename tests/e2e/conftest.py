"""The whole nightly job, for real: generated data served by the sandbox vendor APIs over
HTTP, the real connectors, identity stitching, both dbt invocations, the quality gates and the
publish step, executed by Dagster in a temporary instance and folders.

Each test module gets its own dataset, folders, Dagster instance and sandbox server (see
`Pipeline`); the environment variables a run reads are set for the module and restored after.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from devkit.__main__ import main as demo_cli
from pipelines.cli import main as cli
from pipelines.settings import PROJECT_ROOT, Settings, temporary_environment

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

    @property
    def settings(self) -> Settings:
        return Settings.from_env()

    def run(self, *arguments: str) -> Outcome:
        """`python -m pipelines run ...` (default: the last demo day), as a user types it."""
        code = cli(["run", *(arguments or ("--date", LAST_DAY.isoformat()))])
        return Outcome(code == 0, self.settings.report_dir / "latest.json")

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


@contextmanager
def pipeline(root: Path, *, persons: int = PERSONS, seed: int = SEED) -> Iterator[Pipeline]:
    """Folders and a Dagster instance under `root`; the README's demo command builds the first
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
        demo_exit_code = demo_cli(
            ["demo", "--persons", str(persons), "--seed", str(seed), "--out", str(dataset)]
        )
        with (
            SandboxServer(dataset) as sandbox,
            temporary_environment({**sandbox.env(), "JOURNEY_DROP_DIR": str(dataset / "drop")}),
        ):
            yield Pipeline(
                root=root, dataset=dataset, sandbox=sandbox, demo_exit_code=demo_exit_code
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
