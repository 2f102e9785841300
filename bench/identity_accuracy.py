"""Identity accuracy against ground truth: `python -m bench.identity_accuracy BUILD.duckdb TRUTH_DIR`.

Reads `int_identity_evidence` (any schema) from the DuckDB file read-only, stitches it with the
configured rules and prints pairwise precision / recall / F1 against
`TRUTH_DIR/identities.parquet` (contracts §6.7). Exit status 1 when below the targets
(precision >= 0.995, recall >= 0.98).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from devkit.identity.evaluate import pairwise_scores
from pipelines.identity.normalise import normalise_identifiers
from pipelines.identity.rules import IdentityRules, load_rules
from pipelines.identity.stitch import stitch

PRECISION_TARGET = 0.995
RECALL_TARGET = 0.98


def read_evidence(warehouse: Path) -> pl.DataFrame:
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        found = connection.execute(
            "select table_schema from information_schema.tables where table_name = 'int_identity_evidence'"
        ).fetchall()
        if not found:
            raise SystemExit(
                f"{warehouse} has no int_identity_evidence table; build the dbt project first"
            )
        return connection.execute(f'select * from "{found[0][0]}".int_identity_evidence').pl()
    finally:
        connection.close()


def score_warehouse(warehouse: Path, truth_dir: Path, rules: IdentityRules) -> dict:
    evidence = read_evidence(warehouse)
    truth = pl.read_parquet(truth_dir / "identities.parquet")
    result = stitch(evidence, rules=rules, run_id="accuracy", run_at=datetime.now(UTC))
    scores = pairwise_scores(
        truth, result.tables["identity_map"], lambda frame: normalise_identifiers(frame, rules)
    )
    return {**scores, **{k: v for k, v in result.metrics.items() if not k.startswith("seconds")}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path, help="DuckDB file holding int_identity_evidence")
    parser.add_argument("truth_dir", type=Path, help="the demo dataset's truth/ folder")
    parser.add_argument("--rules", type=Path, default=None)
    arguments = parser.parse_args(argv)
    scores = score_warehouse(arguments.warehouse, arguments.truth_dir, load_rules(arguments.rules))
    for name, value in scores.items():
        print(f"{name:>40}: {value:.5f}" if isinstance(value, float) else f"{name:>40}: {value}")
    ok = scores["precision"] >= PRECISION_TARGET and scores["recall"] >= RECALL_TARGET
    print(
        "targets met"
        if ok
        else f"below target (precision >= {PRECISION_TARGET}, recall >= {RECALL_TARGET})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
