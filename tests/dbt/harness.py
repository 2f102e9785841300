"""Build the dbt project on a temporary DuckDB file from a generated vendor dataset.

The same steps the nightly job runs, without Dagster: land the dataset (no HTTP; or file drops
through the real `filedrop` extraction), build the models the identity step reads, stitch
identities with the real Polars step, then build everything else. Used by the tests in this
folder (and handy from a shell: `python -m tests.dbt.harness DATASET_DIR WORK_DIR`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from devkit.vendor_dataset import land_vendor_dataset
from pipelines.extract.runner import StreamResult, extract_source, plan_window
from pipelines.identity.rules import load_rules
from pipelines.identity.stitch import stitch, write_tables
from pipelines.privacy.keys import fingerprint_frame, write_fingerprint
from pipelines.settings import DBT_PROJECT_DIR, Settings
from pipelines.warehouse.dbt_runner import rules_environment
from pipelines.warehouse.surface import SurfaceSpec, build_published_file

PRE_IDENTITY = "path:models/staging +int_identity_evidence"


class DbtFailed(RuntimeError):
    pass


@dataclass
class Warehouse:
    """A temporary warehouse: its data folders, DuckDB file and dbt environment.

    `schedule_timezone` feeds dbt var `reporting_timezone` (JOURNEY_SCHEDULE_TIMEZONE): UTC
    unless a test sets another zone here, whatever the caller's shell exports, so the golden
    checksums and ground truths never depend on the developer's environment.
    """

    root: Path
    timings: dict[str, float] = field(default_factory=dict)
    schedule_timezone: str = "UTC"

    @property
    def landing_dir(self) -> Path:
        return self.root / "data" / "landing"

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "data" / "quarantine"

    @property
    def identity_dir(self) -> Path:
        return self.root / "build" / "identity"

    @property
    def database(self) -> Path:
        return self.root / "build" / "journey.duckdb"

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "JOURNEY_DBT_DUCKDB_PATH": str(self.database),
            "JOURNEY_LANDING_DIR": str(self.landing_dir),
            "JOURNEY_QUARANTINE_DIR": str(self.quarantine_dir),
            "JOURNEY_IDENTITY_DIR": str(self.identity_dir),
            "JOURNEY_SCHEDULE_TIMEZONE": self.schedule_timezone,
            "DBT_TARGET_PATH": str(self.root / "dbt_target"),
            "DBT_LOG_PATH": str(self.root / "dbt_logs"),
            **rules_environment(),
        }

    def land(self, dataset_dir: Path, run_id: str, as_of: datetime | None = None) -> dict:
        started = time.perf_counter()
        summary = land_vendor_dataset(
            dataset_dir, self.landing_dir, self.quarantine_dir, run_id, as_of=as_of
        )
        self.timings[f"land {run_id}"] = time.perf_counter() - started
        return summary

    def land_drops(self, drop_dir: Path, run_id: str) -> list[StreamResult]:
        """Land the file drops under `drop_dir` as the nightly job does: the `filedrop`
        extraction with JOURNEY_DROP_DIR pointing at them (contracts §4)."""
        started = time.perf_counter()
        settings = Settings.from_env(
            {
                "JOURNEY_DATA_DIR": str(self.root / "data"),
                "JOURNEY_WAREHOUSE_PATH": str(self.database),
                "JOURNEY_DROP_DIR": str(drop_dir),
            }
        )
        today = datetime.now(UTC).date()
        window = plan_window(
            settings, "filedrop", first_day=today, last_day=today, full_refresh=False
        )
        results = extract_source(
            "filedrop", settings, window=window, run_id=run_id, load_date=today
        )
        self.timings[f"land drops {run_id}"] = time.perf_counter() - started
        return results

    def dbt(self, *args: str) -> str:
        started = time.perf_counter()
        self.database.parent.mkdir(parents=True, exist_ok=True)
        completed = subprocess.run(
            [
                str(Path(sys.executable).with_name("dbt")),
                *args,
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
            ],
            env=self.environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        self.timings[f"dbt {' '.join(args)}"] = time.perf_counter() - started
        if completed.returncode != 0:
            raise DbtFailed(f"dbt {' '.join(args)} failed:\n{completed.stdout[-6000:]}")
        return completed.stdout

    def stitch_identities(self, run_id: str, erasures: pl.DataFrame | None = None) -> None:
        started = time.perf_counter()
        with duckdb.connect(str(self.database), read_only=True) as con:
            evidence = con.sql("select * from intermediate.int_identity_evidence").pl()
        result = stitch(
            evidence,
            rules=load_rules(),
            run_id=run_id,
            run_at=datetime.now(UTC).replace(tzinfo=None),
            erasures=erasures,
        )
        write_tables(result, self.identity_dir)
        # as the identity asset does beside the stitched tables
        write_fingerprint(self.identity_dir, fingerprint_frame(None, ()))
        self.timings[f"stitch {run_id}"] = time.perf_counter() - started

    def build(self, run_id: str, *extra: str, erasures: pl.DataFrame | None = None) -> None:
        """One nightly build: models before identity, stitching, then the rest."""
        self.dbt("build", "--select", PRE_IDENTITY, *extra)
        self.stitch_identities(run_id, erasures=erasures)
        self.dbt("build", "--exclude", PRE_IDENTITY, *extra)

    def query(self, sql: str) -> pl.DataFrame:
        with duckdb.connect(str(self.database), read_only=True) as con:
            return con.sql(sql).pl()

    def published_copy(self, target: Path) -> Path:
        """A new DuckDB file with only what the publish step exposes, written by the publish
        step's own code: the tables of schemas marts and identity, with the published types
        (the build's staging, seeds and test views left out)."""
        build_published_file(self.database, target, SurfaceSpec())
        return target


def main(argv: list[str], kind: type[Warehouse] = Warehouse) -> int:
    """`python -m <harness> DATASET ROOT`: land the dataset and build it once, timed."""
    dataset_dir, root = Path(argv[0]), Path(argv[1])
    warehouse = kind(root)
    warehouse.land(dataset_dir, "run-1")
    warehouse.build("run-1")
    for step, seconds in warehouse.timings.items():
        print(f"{seconds:8.1f} s  {step}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
