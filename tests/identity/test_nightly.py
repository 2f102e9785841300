"""Nightly identity (pipelines/identity/nightly.py): a chain of nights that re-stitch only the
touched components gives exactly the tables of a chain of full stitches (each against the
previous night's map), night after night: merges when a new record joins two old persons,
erasure, a record whose identifiers change and a record that goes away included."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from devkit.identity.synthetic import generate_evidence
from pipelines.identity.nightly import CARRIED_TABLES, stitch_night
from pipelines.identity.stitch import stitch
from tests.identity.conftest import RUN_AT, evidence

COMPARED = (*CARRIED_TABLES, "identity_merges", "identity_splits")


def canonical(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    return frame.lazy().collect().sort(pl.all(), nulls_last=True)


def assert_same_tables(night: dict, full: dict) -> None:
    for name in COMPARED:
        assert_frame_equal(canonical(night[name]), canonical(full[name]), check_dtypes=False)


def run_chain(nights: list[pl.DataFrame], rules, erasures_by_night=None) -> list:
    """Each night's evidence (the whole history as dbt would build it) through both paths."""
    state, previous_full, previous_night = None, {}, {}
    outcomes = []
    for number, night_evidence in enumerate(nights):
        erasures = (erasures_by_night or {}).get(number)
        run_at = RUN_AT + timedelta(days=number)
        full = stitch(
            night_evidence,
            rules=rules,
            run_id=f"night-{number}",
            run_at=run_at,
            previous_map=previous_full.get("identity_map"),
            erasures=erasures,
        )
        full_tables = {name: full.tables[name] for name in full.tables}
        result = stitch_night(
            night_evidence,
            rules=rules,
            run_id=f"night-{number}",
            run_at=run_at,
            state=state,
            previous_tables=previous_night,
            erasures=erasures,
        )
        assert_same_tables(result.tables, full_tables)
        outcomes.append(result)
        state, previous_night, previous_full = result.state, result.tables, full_tables
    return outcomes


@pytest.fixture(scope="module")
def synthetic():
    frame, _ = generate_evidence(3_000, seed=11)
    return frame


def test_a_chain_of_nights_equals_a_chain_of_full_stitches(synthetic, rules):
    times = synthetic["observed_at"]
    start, end = times.min(), times.max()
    cutoffs = [start + (end - start) * share for share in (0.6, 0.8, 0.95)] + [None]
    key = ["source", "stream", "record_id"]
    nights = []
    for cutoff in cutoffs:
        if cutoff is None:
            nights.append(synthetic)
            continue
        later = synthetic.filter(pl.col("observed_at") >= cutoff).select(key).unique()
        nights.append(synthetic.join(later, on=key, how="anti"))
    outcomes = run_chain(nights, rules)
    assert [outcome.mode for outcome in outcomes] == ["full"] + ["incremental"] * 3
    for outcome in outcomes[1:]:  # each night re-stitched a small part of the history
        assert 0 < outcome.restitched_records < outcomes[0].restitched_records / 2


def test_merges_erasure_changed_and_gone_records(rules):
    night_1 = evidence(
        ("matomo", "visits", "v1", 1, "visit", [("web_visitor_id", "d1")]),
        ("shopify", "orders", "o1", 2, "order", [("shop_customer_id", "7"), ("email", "a@x.de")]),
        ("zendesk", "users", "u1", 3, "support_user", [("support_requester_id", "9")]),
        ("zendesk", "users", "u2", 3, "support_user", [("support_requester_id", "10")]),
        ("matomo", "visits", "v9", 4, "visit", [("web_visitor_id", "d9")]),
    )
    # a form fill joins the visitor d1 and the buyer a@x.de: two old persons merge; a new
    # login joins web_user_id 7 to d1, so shop_customer_id 7 joins by same_customer_id
    night_2 = pl.concat(
        [
            night_1,
            evidence(
                ("matomo", "visits", "v2", 5, "form_fill", [("web_visitor_id", "d1"), ("email", "A@x.de")]),
                ("matomo", "visits", "v3", 6, "login", [("web_user_id", "7"), ("web_visitor_id", "d1")]),
            ),
        ]
    )  # fmt: skip
    # night 3: ticket user u1 now carries an email (changed), u2 is gone, d9 is erased
    night_3 = pl.concat(
        [
            night_2.filter(~pl.col("record_id").is_in(["u1", "u2"])),
            evidence(
                ("zendesk", "users", "u1", 3, "support_user", [("support_requester_id", "9"), ("email", "a@x.de")]),
            ),
        ]
    )  # fmt: skip
    erasures = pl.DataFrame(
        {
            "identifier_kind": ["web_visitor_id"],
            "identifier_value": ["d9"],
            "requested_at": [datetime(2025, 6, 1)],
        }
    )
    outcomes = run_chain([night_1, night_2, night_3], rules, {2: erasures})
    assert [outcome.mode for outcome in outcomes] == ["full", "incremental", "incremental"]
    second, third = ({k: canonical(v) for k, v in o.tables.items()} for o in outcomes[1:])
    assert second["identity_merges"].height >= 1
    values = set(third["identity_map"].get_column("identifier_value"))
    assert "d9" not in values and "10" not in values and {"d1", "7", "9"} <= values
    assert third["identity_suppressed_records"].get_column("record_id").to_list() == ["v9"]


def test_a_rule_or_key_change_stitches_in_full(synthetic, rules):
    from pipelines.settings import Secret

    def night(run_id, state, previous, **options):
        return stitch_night(
            synthetic, rules=rules, run_id=run_id, run_at=RUN_AT, state=state,
            previous_tables=previous, **options,
        )  # fmt: skip

    first = night("a", None, {})
    key = Secret("another-key-of-enough-length-0123456789")
    again = night("b", first.state, first.tables, pseudonymize_key=key)
    assert again.mode == "full" and "key" in again.reason
    same = night("c", first.state, first.tables)
    assert same.mode == "incremental" and same.restitched_records == 0
    events = {name: same.tables[name] for name in ("identity_merges", "identity_splits")}
    assert_same_tables(same.tables, {**first.tables, **events})
