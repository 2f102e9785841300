"""Invariants on random small evidence (hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from pipelines.identity.rules import load_rules
from pipelines.identity.stitch import stitch
from tests.identity.conftest import EVIDENCE_COLUMNS, RUN_AT

RULES = load_rules()
VALUES = {
    "web_visitor_id": ["d1", "d2", "d3", "D1 "],
    "web_user_id": ["1", "2", "3"],
    "shop_customer_id": ["1", "2", "3", "null"],
    "email": ["a@x.com", "B@x.com", "b@x.com ", "info@x.com", "c+1@x.com", "c@x.com"],
    "email_subscriber_id": ["s1", "s2"],
    "checkout_token": ["t1", "t2"],
    "support_requester_id": ["z1", "z2"],
}
identifier = st.sampled_from(list(VALUES)).flatmap(
    lambda kind: st.tuples(st.just(kind), st.sampled_from(VALUES[kind]))
)
record = st.tuples(st.integers(0, 30), st.lists(identifier, min_size=1, max_size=4))


def _frame(records) -> pl.DataFrame:
    rows = []
    for number, (offset, identifiers) in enumerate(records):
        for position, (kind, value) in enumerate(identifiers):
            at = datetime(2026, 1, 1) + timedelta(days=offset)
            rows.append(("src", "stream", f"r{number}", at, "rule", kind, value, position == 0))
    return pl.DataFrame(rows, schema=EVIDENCE_COLUMNS, orient="row").cast(
        {"observed_at": pl.Datetime("us")}
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(record, min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_invariants(records, shuffler):
    frame = _frame(records)
    result = stitch(frame, rules=RULES, run_id="r", run_at=RUN_AT)
    identity_map = result.tables["identity_map"]
    edges = result.tables["identity_edges"]

    # every identifier in exactly one person
    assert not identity_map.select("identifier_kind", "identifier_value").is_duplicated().any()
    # every accepted edge joins two identifiers of one person
    person = identity_map.select("identifier_kind", "identifier_value", "person_id")
    linked = edges.join(
        person.rename(
            {
                "identifier_kind": "left_kind",
                "identifier_value": "left_value",
                "person_id": "left_person",
            }
        ),
        on=["left_kind", "left_value"],
    ).join(
        person.rename(
            {
                "identifier_kind": "right_kind",
                "identifier_value": "right_value",
                "person_id": "right_person",
            }
        ),
        on=["right_kind", "right_value"],
    )
    assert linked.height == edges.height
    assert (linked["left_person"] == linked["right_person"]).all()
    # no accepted edge breaks a degree limit
    both_ways = pl.concat(
        [
            edges.select(
                pl.col("left_kind").alias("kind"),
                pl.col("left_value").alias("value"),
                pl.col("right_kind").alias("linked_kind"),
                pl.col("right_value").alias("linked"),
            ),
            edges.select(
                pl.col("right_kind").alias("kind"),
                pl.col("right_value").alias("value"),
                pl.col("left_kind").alias("linked_kind"),
                pl.col("left_value").alias("linked"),
            ),
        ]
    ).unique()
    for limit in RULES.degree_limits:
        degree = (
            both_ways.filter(
                (pl.col("kind") == limit.kind) & (pl.col("linked_kind") == limit.linked_kind)
            )
            .group_by("value")
            .len()
        )
        assert degree.is_empty() or degree["len"].max() <= limit.max_linked
    # at most one account per person (equal values across account kinds are one account)
    accounts = identity_map.filter(pl.col("identifier_kind").is_in(list(RULES.account_kinds)))
    assert accounts.group_by("person_id").agg(pl.col("identifier_value").n_unique())[
        "identifier_value"
    ].max() in (None, 1)
    # blocked identifiers are not person identifiers
    assert not identity_map["identifier_value"].is_in(["info@x.com", "null"]).any()

    # deterministic under row shuffling
    order = list(range(frame.height))
    shuffler.shuffle(order)
    shuffled = stitch(frame[order], rules=RULES, run_id="r", run_at=RUN_AT)
    for name, table in result.tables.items():
        assert_frame_equal(
            shuffled.tables[name], table, check_row_order=name != "identity_rejected_edges"
        )
    assert_frame_equal(
        shuffled.tables["identity_rejected_edges"].sort(pl.all()),
        result.tables["identity_rejected_edges"].sort(pl.all()),
    )
