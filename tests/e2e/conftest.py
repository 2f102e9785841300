"""The whole nightly job, for real: generated data served by the sandbox vendor APIs over
HTTP, the real connectors, identity stitching, both dbt invocations, the quality gates and the
publish step, executed by Dagster in a temporary instance and folders.

Each test module gets its own dataset, folders, Dagster instance and sandbox server (see
`Pipeline`); the environment variables a run reads are set for the module and restored after.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines.cli import RunOutcome, run_nightly
from pipelines.settings import PROJECT_ROOT, Settings

PERSONS = 300
SEED = 23
LAST_DAY = date(2026, 9, 30)


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass
class Pipeline:
    root: Path
    dataset: Path
    sandbox: object

    @property
    def settings(self) -> Settings:
        return Settings.from_env()

    def run(self, day: date = LAST_DAY, *, full_refresh: bool = False) -> RunOutcome:
        return run_nightly(day, day, full_refresh=full_refresh, log_level="WARNING")

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
    from pipelines.demo.generator import generate
    from pipelines.sandbox import SandboxServer

    dataset = root / "dataset"
    generate(dataset, persons=persons, seed=seed)
    dagster_home = root / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(
        (PROJECT_ROOT / "dagster_home" / "dagster.yaml").read_text()
    )
    with SandboxServer(dataset) as sandbox:
        values = {
            "JOURNEY_DATA_DIR": str(root / "data"),
            "JOURNEY_WAREHOUSE_PATH": str(root / "warehouse" / "journey.duckdb"),
            "JOURNEY_DROP_DIR": str(dataset / "drop"),
            "DAGSTER_HOME": str(dagster_home),
            "DO_NOT_TRACK": "1",
            "GX_ANALYTICS_ENABLED": "false",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            **sandbox.env(),
        }
        with environment(values):
            yield Pipeline(root=root, dataset=dataset, sandbox=sandbox)
