"""Ground truth of the demo dataset `make demo` builds (2,000 persons, seed 7), through the real
evidence model (slow: runs dbt).

demo generator -> vendor dataset landed -> dbt builds int_identity_evidence -> stitch ->
pairwise precision / recall against truth/identities.parquet (contracts §6.7); and the README's
`explain` example, run as printed on these identity tables, links its two identifiers.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from bench.identity_accuracy import (
    PRECISION_TARGET,
    RECALL_TARGET,
    read_evidence,
    score_warehouse,
)
from devkit.__main__ import DEMO_PERSONS, DEMO_SEED
from pipelines.identity.stitch import stitch
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.warehouse.dbt_runner import rules_environment
from tests.readme import project_like_folder, readme_command, run_as_printed


@pytest.mark.e2e
def test_demo_dataset_meets_the_accuracy_targets(tmp_path, rules):
    from devkit.demo.generator import generate
    from devkit.vendor_dataset import land_vendor_dataset

    generate(tmp_path / "demo", persons=DEMO_PERSONS, seed=DEMO_SEED)
    land_vendor_dataset(
        tmp_path / "demo", tmp_path / "landing", tmp_path / "quarantine", "accuracy-test"
    )
    (tmp_path / "identity").mkdir()
    environment = {
        **os.environ,
        **rules_environment(),
        "JOURNEY_DBT_DUCKDB_PATH": str(tmp_path / "build.duckdb"),
        "JOURNEY_LANDING_DIR": str(tmp_path / "landing"),
        "JOURNEY_QUARANTINE_DIR": str(tmp_path / "quarantine"),
        "JOURNEY_IDENTITY_DIR": str(tmp_path / "identity"),
    }
    dbt = str(Path(sys.executable).with_name("dbt"))
    paths = [
        "--profiles-dir",
        ".",
        "--target-path",
        str(tmp_path / "target"),
        "--log-path",
        str(tmp_path / "logs"),
    ]
    for command in (
        ["seed"],
        ["run", "--select", "+int_identity_evidence"],
    ):  # the models read seeds
        done = subprocess.run(
            [dbt, *command, *paths],
            cwd=DBT_PROJECT_DIR,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-3000:]

    scores = score_warehouse(tmp_path / "build.duckdb", tmp_path / "demo" / "truth", rules)
    assert scores["precision"] >= PRECISION_TARGET, scores
    assert scores["recall"] >= RECALL_TARGET, scores

    # the README's explain example: two identifiers of one true person of the demo data, which
    # the warehouse links (the identity tables as the nightly job publishes them)
    command = readme_command(".venv/bin/python -m pipelines.identity explain")
    first, second = shlex.split(command)[-2:]
    truth = pl.read_parquet(tmp_path / "demo" / "truth" / "identities.parquet")
    owners = {
        truth.filter((pl.col("identifier_kind") == kind) & (pl.col("identifier_value") == value))[
            "person_key"
        ].item()
        for kind, value in (identifier.split(":", 1) for identifier in (first, second))
    }
    assert len(owners) == 1, owners
    result = stitch(
        read_evidence(tmp_path / "build.duckdb"),
        rules=rules,
        run_id="readme",
        run_at=datetime.now(UTC),
    )
    (tmp_path / "warehouse").mkdir()
    con = duckdb.connect(str(tmp_path / "warehouse" / "journey.duckdb"))
    con.execute("create schema identity")
    for table in ("identity_map", "identity_edges"):
        frame = result.tables[table]  # noqa: F841 (read by DuckDB by name)
        con.execute(f"create table identity.{table} as select * from frame")
    con.close()
    done = run_as_printed(command, project_like_folder(tmp_path, tmp_path / "warehouse"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"{first} and {second} are one person, linked in 2 hop(s)")
