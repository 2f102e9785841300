"""Pairwise scores, and accuracy of the stitcher against synthetic ground truth."""

from __future__ import annotations

import polars as pl

from pipelines.identity.evaluate import pairwise_scores
from pipelines.identity.normalise import normalise_identifiers
from pipelines.identity.stitch import stitch
from pipelines.identity.synthetic import generate_evidence
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
