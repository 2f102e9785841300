"""Ground truth of a generated demo dataset, through the real evidence model (slow: runs dbt).

demo generator -> vendor dataset landed -> dbt builds int_identity_evidence -> stitch ->
pairwise precision / recall against truth/identities.parquet (contracts §6.7).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.identity_accuracy import PRECISION_TARGET, RECALL_TARGET, score_warehouse
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.warehouse.dbt_runner import rules_environment


@pytest.mark.e2e
def test_demo_dataset_meets_the_accuracy_targets(tmp_path, rules):
    from devkit.demo.generator import generate
    from devkit.vendor_dataset import land_vendor_dataset

    generate(tmp_path / "demo", persons=1_500, seed=19)
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
