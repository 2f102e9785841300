"""Stable ids across runs, rebuilds without history, and incremental == full rebuild."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from devkit.identity.synthetic import generate_evidence
from pipelines.identity.stitch import EvidenceError, stitch
from tests.identity.conftest import (
    RUN_AT,
    evidence,
    form_fill,
    partition,
    split_records,
    ticket,
)


@pytest.fixture(scope="module")
def synthetic():
    return generate_evidence(3_000, seed=7)


def test_same_evidence_twice_keeps_every_id(synthetic, rules):
    evidence, _ = synthetic
    first = stitch(evidence, rules=rules, run_id="r1", run_at=RUN_AT)
    second = stitch(
        evidence, rules=rules, run_id="r2", run_at=RUN_AT, previous_map=first.tables["identity_map"]
    )
    assert_frame_equal(second.tables["identity_map"], first.tables["identity_map"])
    assert (
        second.tables["identity_merges"].is_empty() and second.tables["identity_splits"].is_empty()
    )


def test_rebuild_without_history_gives_the_same_ids(synthetic, rules):
    evidence, _ = synthetic
    cutoff = datetime(2025, 6, 1)
    early = stitch(
        evidence.filter(pl.col("observed_at") < cutoff), rules=rules, run_id="r1", run_at=RUN_AT
    )
    with_history = stitch(
        evidence, rules=rules, run_id="r2", run_at=RUN_AT, previous_map=early.tables["identity_map"]
    )
    without_history = stitch(evidence, rules=rules, run_id="r3", run_at=RUN_AT)
    # merges keep the older id, which is the id derived from the earliest identifier
    assert_frame_equal(with_history.tables["identity_map"], without_history.tables["identity_map"])


def incremental_after(before, new, rules, **replaced):
    """An incremental run of `new` evidence after the run `before` (`replaced`: other inputs)."""
    previous = {
        "previous_map": before.tables["identity_map"],
        "previous_edges": before.tables["identity_edges"],
        "previous_rejected_edges": before.tables["identity_rejected_edges"],
    }
    return stitch(
        new, rules=rules, run_id="r2", run_at=RUN_AT, incremental=True, **(previous | replaced)
    )


def new_records_only(table: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """The rows of an edge table that the records of `new` carry, in a fixed order."""
    records = ["source", "stream", "record_id"]
    rows = table.join(new.select(records).unique(), on=records, how="semi")
    return rows.sort(rows.columns, nulls_last=True)


def full_rebuild(evidence_frame, before, rules):
    """The full rebuild `incremental_after(before, ...)` must equal: all evidence, same map."""
    return stitch(
        evidence_frame,
        rules=rules,
        run_id="r2",
        run_at=RUN_AT,
        previous_map=before.tables["identity_map"],
    )


def assert_same_outcome(incremental, full, new):
    """The same persons and merges, and the same decisions on the new records: the same
    refusals, the same accepted edges (with the same_customer_id edges the new records are the
    first to show)."""
    assert_frame_equal(incremental.tables["identity_map"], full.tables["identity_map"])
    assert_frame_equal(incremental.tables["identity_merges"], full.tables["identity_merges"])
    for table in ("identity_edges", "identity_rejected_edges"):
        assert_frame_equal(
            new_records_only(incremental.tables[table], new),
            new_records_only(full.tables[table], new),
        )


def test_incremental_run_equals_full_rebuild(synthetic, rules):
    evidence, _ = synthetic
    cutoff = datetime(2025, 7, 1)
    old, new = split_records(evidence, cutoff)
    assert old.height and new.height
    before = stitch(old, rules=rules, run_id="r1", run_at=RUN_AT)
    incremental = incremental_after(before, new, rules)
    full = full_rebuild(evidence, before, rules)
    assert partition(incremental.tables["identity_map"]) == partition(full.tables["identity_map"])
    assert full.metrics["merges"] > 0  # the new evidence did join persons
    assert_same_outcome(incremental, full, new)
    assert incremental.tables["identity_edges"]["rule"].eq("same_customer_id").any()


def test_two_incremental_nights_in_a_row_equal_a_full_rebuild(synthetic, rules):
    # the second night's previous links are the union of both earlier runs' edge tables
    evidence_frame, _ = synthetic
    first, rest = split_records(evidence_frame, datetime(2025, 5, 1))
    second, third = split_records(rest, datetime(2025, 8, 1))
    assert first.height and second.height and third.height
    one = stitch(first, rules=rules, run_id="r1", run_at=RUN_AT)
    two = incremental_after(one, second, rules)
    three = incremental_after(
        two,
        third,
        rules,
        **{
            f"previous_{name}": pl.concat(
                [one.tables[f"identity_{name}"], two.tables[f"identity_{name}"]]
            )
            for name in ("edges", "rejected_edges")
        },
    )
    assert_same_outcome(three, full_rebuild(evidence_frame, two, rules), third)


@pytest.mark.parametrize(
    ("last_night", "tonight", "refused"),
    [
        # the device's own e-mail link is last night's: tonight's second one is refused
        ([form_fill("f1", 1, "d1", "a@x.com")], [form_fill("f2", 2, "d1", "b@x.com")], 1),
        # the device's person has an e-mail through the login, not through the device: the
        # device's first e-mail link is accepted and joins the e-mail's own person
        (
            [
                (
                    "matomo",
                    "visits",
                    "v1",
                    1,
                    "login",
                    [("web_visitor_id", "d1"), ("web_user_id", "u1")],
                ),
                (
                    "shopify",
                    "customers",
                    "c1",
                    1,
                    "shop_customer",
                    [("web_user_id", "u1"), ("email", "a@x.com")],
                ),
                ticket("t1", 1, "z1", "b@x.com"),
            ],
            [form_fill("f2", 2, "d1", "b@x.com")],
            0,
        ),
        # a link refused last night and seen again stays refused, whatever tonight brings
        (
            [form_fill("f1", 1, "d1", "a@x.com"), form_fill("f2", 2, "d1", "b@x.com")],
            [form_fill("f3", 3, "d1", "b@x.com")],
            1,
        ),
    ],
)
def test_incremental_degree_limits_count_last_nights_links(rules, last_night, tonight, refused):
    old, new = evidence(*last_night), evidence(*tonight)
    before = stitch(old, rules=rules, run_id="r1", run_at=RUN_AT)
    incremental = incremental_after(before, new, rules)
    assert_same_outcome(incremental, full_rebuild(pl.concat([old, new]), before, rules), new)
    assert new_records_only(incremental.tables["identity_rejected_edges"], new).height == refused


def test_incremental_run_needs_the_previous_links(synthetic, rules):
    evidence_frame, _ = synthetic
    before = stitch(evidence_frame, rules=rules, run_id="r1", run_at=RUN_AT)
    with pytest.raises(ValueError, match="previous identity_rejected_edges"):
        incremental_after(before, evidence_frame, rules, previous_rejected_edges=None)
    broken = before.tables["identity_edges"].drop("left_value")
    with pytest.raises(EvidenceError, match=r"identity_edges lacks columns \['left_value'\]"):
        incremental_after(before, evidence_frame, rules, previous_edges=broken)


def test_new_ids_are_the_documented_hash_and_clashes_take_a_counter():
    """`p_` + 16 hex digits of SHA-256 of `kind:value` (HMAC with a key); an id already taken
    is derived again from `kind:value#1`, then `#2`, ..."""
    import hashlib
    import hmac

    from pipelines.identity.contract import KIND
    from pipelines.identity.ids import derive_ids
    from pipelines.settings import Secret

    def expected(text: str, key: bytes | None = None) -> str:
        digest = (
            hmac.new(key, text.encode(), hashlib.sha256) if key else hashlib.sha256(text.encode())
        )
        return "p_" + digest.hexdigest()[:16]

    first = pl.DataFrame(
        {
            "cluster": [0, 1],
            "kind": pl.Series(["email", "web_user_id"]).cast(KIND),
            "value": ["a@x.com", "42"],
        }
    )
    fresh = derive_ids(first, pl.Series([], dtype=pl.String), None).sort("cluster")
    assert fresh["person_id"].to_list() == [expected("email:a@x.com"), expected("web_user_id:42")]
    clashed = derive_ids(first, fresh["person_id"].head(1), None).sort("cluster")
    assert clashed["person_id"].to_list() == [
        expected("email:a@x.com#1"),
        expected("web_user_id:42"),
    ]
    keyed = derive_ids(first.head(1), pl.Series([], dtype=pl.String), Secret("k3y"))
    assert keyed["person_id"].to_list() == [expected("email:a@x.com", b"k3y")]
