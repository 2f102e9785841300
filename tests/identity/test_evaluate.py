"""Pairwise scores, and accuracy of the stitcher against synthetic ground truth."""

from __future__ import annotations

import polars as pl

from devkit.identity.evaluate import pairwise_scores
from devkit.identity.synthetic import generate_evidence
from pipelines.identity.normalise import normalise_identifiers
from pipelines.identity.stitch import stitch
from tests.identity.conftest import RUN_AT


def test_pairwise_scores_counts_pairs_exactly(rules):
    truth = pl.DataFrame(
        {
            "person_key": ["a", "a", "a", "b", "b", "bot-1"],
            "identifier_kind": [
                "email",
                "email",
                "web_visitor_id",
                "email",
                "shop_customer_id",
                "web_visitor_id",
            ],
            "identifier_value": ["Ann@x.com", "ann@x.com", "d1", "bob@x.com", "7", "d9"],
        }
    )
    identity_map = pl.DataFrame(
        {
            "identifier_kind": ["email", "web_visitor_id", "email", "shop_customer_id"],
            "identifier_value": ["ann@x.com", "d1", "bob@x.com", "7"],
            "person_id": ["p1", "p2", "p2", "p3"],
        }
    )
    scores = pairwise_scores(truth, identity_map, lambda frame: normalise_identifiers(frame, rules))
    # elements: Ann@ & ann@ -> p1, d1 & bob -> p2, 7 -> p3; true pairs: a: 3, b: 1
    assert scores["true_pairs"] == 4
    assert scores["predicted_pairs"] == 2
    assert scores["correct_pairs"] == 1
    assert scores["precision"] == 0.5 and scores["recall"] == 0.25
    assert scores["elements"] == 5  # the bot is left out


def test_synthetic_ground_truth_accuracy(rules):
    evidence, truth = generate_evidence(20_000, seed=3)
    result = stitch(evidence, rules=rules, run_id="r", run_at=RUN_AT)
    scores = pairwise_scores(
        truth, result.tables["identity_map"], lambda frame: normalise_identifiers(frame, rules)
    )
    assert scores["precision"] >= 0.995, scores
    assert scores["recall"] >= 0.97, scores


def test_accuracy_script_scores_a_warehouse_file(tmp_path, rules, capsys):
    import duckdb

    from bench.identity_accuracy import PRECISION_TARGET, RECALL_TARGET, main, score_warehouse

    evidence, truth = generate_evidence(2_000, seed=5)
    (tmp_path / "truth").mkdir()
    truth.write_parquet(tmp_path / "truth" / "identities.parquet")
    connection = duckdb.connect(str(tmp_path / "build.duckdb"))
    connection.register("evidence_frame", evidence)
    connection.execute("create schema intermediate")
    connection.execute(
        "create table intermediate.int_identity_evidence as select * from evidence_frame"
    )
    connection.close()

    scores = score_warehouse(tmp_path / "build.duckdb", tmp_path / "truth", rules)
    assert scores["precision"] >= 0.995 and scores["elements"] == truth.height
    met = scores["precision"] >= PRECISION_TARGET and scores["recall"] >= RECALL_TARGET
    assert main([str(tmp_path / "build.duckdb"), str(tmp_path / "truth")]) == (0 if met else 1)
    assert f"{scores['precision']:.5f}" in capsys.readouterr().out
