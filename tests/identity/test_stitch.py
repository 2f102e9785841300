"""Exact expected tables for small hand-built cases: each rule, each guard, ids, erasure."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.identity.stitch import EDGE_COLUMNS, EvidenceError, stitch, write_tables
from pipelines.settings import Secret
from tests.identity.conftest import (
    RUN_AT,
    day,
    evidence,
    form_fill,
    order,
    partition,
    rules_with,
    ticket,
)


def run(frame, rules, **options):
    return stitch(
        frame, rules=rules, run_id=options.pop("run_id", "run-1"), run_at=RUN_AT, **options
    )


def edges_frame(rows):
    return pl.DataFrame(
        rows,
        schema=EDGE_COLUMNS,
        orient="row",
    ).cast({"observed_at": pl.Datetime("us")})


def test_anchor_edges_and_same_customer_id(rules):
    frame = evidence(
        ("matomo", "visits", "v1", 1, "visit", [("web_visitor_id", "AAA1")]),
        ("matomo", "visits", "v2", 2, "login", [("web_user_id", "42"), ("web_visitor_id", "aaa1")]),
        (
            "shopify",
            "orders",
            "o1",
            3,
            "order",
            [("shop_customer_id", "42"), ("email", " Ann@X.com"), ("checkout_token", "T1")],
        ),
    )
    result = run(frame, rules)
    expected_edges = edges_frame(
        [
            (
                "web_user_id",
                "42",
                "web_visitor_id",
                "aaa1",
                "matomo",
                "visits",
                "v2",
                day(2),
                "login",
            ),
            (
                "shop_customer_id",
                "42",
                "checkout_token",
                "t1",
                "shopify",
                "orders",
                "o1",
                day(3),
                "order",
            ),
            (
                "shop_customer_id",
                "42",
                "email",
                "ann@x.com",
                "shopify",
                "orders",
                "o1",
                day(3),
                "order",
            ),
            (
                "web_user_id",
                "42",
                "shop_customer_id",
                "42",
                "shopify",
                "orders",
                "o1",
                day(3),
                "same_customer_id",
            ),
        ]
    )
    chronological = ["observed_at", "source", "stream", "record_id", "left_kind", "right_kind"]
    assert_frame_equal(result.tables["identity_edges"].sort(chronological), expected_edges)
    identity_map = result.tables["identity_map"]
    assert identity_map["person_id"].n_unique() == 1
    assert identity_map.select(
        "identifier_kind", "identifier_value", "first_seen_at", "last_seen_at"
    ).rows() == [
        ("checkout_token", "t1", day(3), day(3)),
        ("email", "ann@x.com", day(3), day(3)),
        ("shop_customer_id", "42", day(3), day(3)),
        ("web_user_id", "42", day(2), day(2)),
        ("web_visitor_id", "aaa1", day(1), day(2)),
    ]
    # the id comes from the earliest identifier, web_visitor_id:aaa1
    digest = hashlib.sha256(b"web_visitor_id:aaa1").hexdigest()[:16]
    assert identity_map["person_id"][0] == f"p_{digest}"
    assert sorted(result.tables["identity_record_persons"].rows()) == [
        ("matomo", "visits", "v1", f"p_{digest}"),
        ("matomo", "visits", "v2", f"p_{digest}"),
        ("shopify", "orders", "o1", f"p_{digest}"),
    ]
    assert result.tables["identity_rejected_edges"].is_empty()


def test_blocked_identifiers_create_no_edges(rules):
    frame = evidence(
        ticket("t1", 1, "7", "Info@Acme.com"),
        ticket("t2", 2, "8", "info@acme.com"),
        form_fill("v1", 3, "d1", "undefined"),
        (
            "shopify",
            "orders",
            "o1",
            4,
            "order",
            [("email", "test@example.com"), ("checkout_token", "T9")],
        ),
    )
    result = run(frame, rules)
    rejected = result.tables["identity_rejected_edges"]
    assert rejected.select(
        "left_kind", "left_value", "right_kind", "right_value", "record_id", "reason"
    ).rows() == [
        ("support_requester_id", "7", "email", "info@acme.com", "t1", "generic_mailbox"),
        ("support_requester_id", "8", "email", "info@acme.com", "t2", "generic_mailbox"),
        ("web_visitor_id", "d1", "email", "undefined", "v1", "junk_value"),
        ("email", "test@example.com", "checkout_token", "t9", "o1", "test_address"),
    ]
    assert result.tables["identity_edges"].is_empty()
    assert partition(result.tables["identity_map"]) == {
        frozenset({"support_requester_id:7"}),
        frozenset({"support_requester_id:8"}),
        frozenset({"web_visitor_id:d1"}),
        frozenset({"checkout_token:t9"}),
    }
    # the order's anchor is blocked: the record has no person (counted, not silently lost)
    assert ("shopify", "orders", "o1") not in {
        row[:3] for row in result.tables["identity_record_persons"].rows()
    }
    assert result.metrics["records_with_blocked_anchor"] == 1
    assert result.metrics["edges_rejected[generic_mailbox]"] == 2


def test_two_spellings_of_one_blocked_value_in_a_record_are_one_rejected_edge(rules):
    """identity_rejected_edges has the grain of identity_edges: one row per link per record."""
    frame = evidence(
        (
            "zendesk",
            "users",
            "u1",
            1,
            "support_user",
            [
                ("support_requester_id", "7"),
                ("email", "Info@Acme.com"),
                ("email", " info@acme.com"),
            ],
        ),
    )
    rejected = run(frame, rules).tables["identity_rejected_edges"]
    assert rejected.select("left_value", "right_value", "record_id", "reason").rows() == [
        ("7", "info@acme.com", "u1", "generic_mailbox")
    ]


def test_degree_limit_keeps_the_earliest_link(rules):
    frame = evidence(
        ("matomo", "visits", "v2", 5, "login", [("web_user_id", "u2"), ("web_visitor_id", "d1")]),
        ("matomo", "visits", "v1", 1, "login", [("web_user_id", "u1"), ("web_visitor_id", "d1")]),
    )
    result = run(frame, rules)
    assert partition(result.tables["identity_map"]) == {
        frozenset({"web_user_id:u1", "web_visitor_id:d1"}),
        frozenset({"web_user_id:u2"}),
    }
    rejected = result.tables["identity_rejected_edges"]
    assert rejected.select("left_value", "right_value", "record_id", "reason").rows() == [
        ("u2", "d1", "v2", "limit:web_visitor_id->web_user_id")
    ]


def test_one_account_per_person_across_a_chain():
    # no degree limits: only the chain rule can stop customer 1 and customer 2 from joining
    rules = rules_with(
        limits={"per_identifier": [], "one_account_per_person": ["shop_customer_id", "web_user_id"]}
    )
    frame = evidence(
        order("o1", 1, "1", "a@x.com"),
        form_fill("v1", 2, "d1", "a@x.com"),
        order("o2", 3, "2", "b@x.com"),
        form_fill("v2", 4, "d1", "b@x.com"),
        ticket("t1", 5, "9", "b@x.com"),
    )
    result = run(frame, rules)
    assert partition(result.tables["identity_map"]) == {
        frozenset({"shop_customer_id:1", "email:a@x.com", "web_visitor_id:d1"}),
        frozenset({"shop_customer_id:2", "email:b@x.com", "support_requester_id:9"}),
    }
    rejected = result.tables["identity_rejected_edges"]
    assert rejected.select("left_value", "right_value", "record_id", "reason").rows() == [
        ("d1", "b@x.com", "v2", "one_account_per_person")
    ]
    accepted = result.tables["identity_edges"]
    assert accepted.sort("observed_at")["record_id"].to_list() == ["o1", "v1", "o2", "t1"]


def test_merge_keeps_the_older_id(rules):
    first = evidence(
        order("o1", 1, "1", "a@x.com"),
        (
            "mailchimp",
            "members",
            "m1",
            2,
            "email_membership",
            [("email_subscriber_id", "s1"), ("email", "b@x.com")],
        ),
    )
    run_one = run(first, rules)
    ids = dict(run_one.tables["identity_map"].select("identifier_value", "person_id").iter_rows())
    second = pl.concat(
        [
            first,
            evidence(
                (
                    "matomo",
                    "visits",
                    "v9",
                    6,
                    "form_fill",
                    [("email_subscriber_id", "s1"), ("email", "a@x.com")],
                )
            ),
        ]
    )
    run_two = run(second, rules, run_id="run-2", previous_map=run_one.tables["identity_map"])
    assert run_two.tables["identity_map"]["person_id"].unique().to_list() == [ids["1"]]
    expected = pl.DataFrame(
        {
            "run_id": ["run-2"],
            "merged_at": [RUN_AT],
            "surviving_person_id": [ids["1"]],
            "retired_person_id": [ids["s1"]],
            "source": ["matomo"],
            "stream": ["visits"],
            "record_id": ["v9"],
            "rule": ["form_fill"],
            "left_kind": ["email_subscriber_id"],
            "left_value": ["s1"],
            "right_kind": ["email"],
            "right_value": ["a@x.com"],
        }
    ).cast({"merged_at": pl.Datetime("us")})
    assert_frame_equal(run_two.tables["identity_merges"], expected)
    assert run_two.metrics["merges"] == 1


def test_split_by_overlap_after_a_rule_change():
    lenient = rules_with(limits={"per_identifier": [], "one_account_per_person": []})
    strict = rules_with(
        limits={"per_identifier": [{"kind": "web_visitor_id", "linked_kind": "email", "max": 1}]}
    )
    frame = evidence(
        form_fill("v1", 1, "d1", "a@x.com"),
        order("o1", 2, "1", "a@x.com"),
        form_fill("v2", 3, "d1", "b@x.com"),
        ticket("t1", 4, "9", "b@x.com"),
    )
    before = run(frame, lenient)
    (old_id,) = before.tables["identity_map"]["person_id"].unique().to_list()
    after = run(frame, strict, run_id="run-2", previous_map=before.tables["identity_map"])
    persons = dict(after.tables["identity_map"].select("identifier_value", "person_id").iter_rows())
    assert persons["a@x.com"] == old_id  # the larger piece (3 identifiers) keeps the id
    assert persons["b@x.com"] != old_id and persons["9"] == persons["b@x.com"]
    assert after.tables["identity_splits"].rows() == sorted(
        [("run-2", RUN_AT, old_id, old_id), ("run-2", RUN_AT, old_id, persons["b@x.com"])]
    )
    # the new id is derived, never reused: the smaller piece's earliest identifier is b@x.com
    digest = hashlib.sha256(b"email:b@x.com").hexdigest()[:16]
    assert persons["b@x.com"] == f"p_{digest}"


def test_erasure_removes_the_person_and_lists_its_records(rules):
    frame = evidence(
        order("o1", 1, "1", "a@x.com"),
        ("mailchimp", "sent_to", "c1:e1", 2, "email_activity", [("email", "A@X.com ")]),
        ticket("t1", 3, "9", "info@x.com"),
        order("o2", 4, "2", "b@x.com"),
    )
    erasures = pl.DataFrame(
        {"identifier_kind": ["email"], "identifier_value": [" a@X.com"], "requested_at": [day(20)]}
    )
    result = run(frame, rules, erasures=erasures)
    assert partition(result.tables["identity_map"]) == {
        frozenset({"shop_customer_id:2", "email:b@x.com"}),
        frozenset({"support_requester_id:9"}),
    }
    assert result.tables["identity_suppressed_records"].rows() == [
        ("mailchimp", "sent_to", "c1:e1"),
        ("shopify", "orders", "o1"),
    ]
    for name in ("identity_edges", "identity_rejected_edges"):
        values = set(result.tables[name]["left_value"]) | set(result.tables[name]["right_value"])
        assert not values & {"a@x.com", "1"}
    assert {row[2] for row in result.tables["identity_record_persons"].rows()} == {"t1", "o2"}
    # pulled again with a new record of the same person: still kept out
    again = pl.concat(
        [
            frame,
            evidence(order("o3", 30, "1", "new@x.com")),
        ]
    )
    later = run(again, rules, previous_map=result.tables["identity_map"], erasures=erasures)
    assert ("shopify", "orders", "o3") in later.tables["identity_suppressed_records"].rows()
    assert "new@x.com" not in later.tables["identity_map"]["identifier_value"].to_list()


def test_pseudonymised_emails_are_keyed_hmac(rules):
    frame = evidence(
        order("o1", 1, "1", "A@x.com"),
    )
    key = Secret("s3cret")
    result = run(frame, rules, pseudonymize_key=key)
    expected = hmac.new(b"s3cret", b"a@x.com", hashlib.sha256).hexdigest()
    identity_map = result.tables["identity_map"]
    assert identity_map.filter(pl.col("identifier_kind") == "email")[
        "identifier_value"
    ].to_list() == [expected]
    assert result.tables["identity_edges"]["right_value"].to_list() == [expected]
    assert "s3cret" not in repr(result.metrics)
    # the next run joins its previous map in the published form: same id, no merge
    again = run(frame, rules, previous_map=identity_map, pseudonymize_key=key)
    assert_frame_equal(again.tables["identity_map"], identity_map)


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([("s", "x", "r1", 1, "visit", [("web_visitor_id", "a")])], None),
        ([("s", "x", "r1", 1, "visit", [("web_visitor_id", "a"), ("web_visitor_id", "b")])], None),
    ],
)
def test_valid_evidence_runs(records, message, rules):
    assert run(evidence(*records), rules).metrics["records"] == 1


def test_bad_evidence_gets_a_clear_error(rules):
    two_anchors = evidence(("s", "x", "r1", 1, "visit", [("web_visitor_id", "a")])).with_columns(
        is_anchor=pl.lit(True)
    )
    with pytest.raises(EvidenceError, match="more than one anchor"):
        run(pl.concat([two_anchors, two_anchors.with_columns(identifier_value=pl.lit("b"))]), rules)
    with pytest.raises(EvidenceError, match="no anchor"):
        run(two_anchors.with_columns(is_anchor=pl.lit(False)), rules)
    with pytest.raises(EvidenceError, match="unknown identifier kinds"):
        run(two_anchors.with_columns(identifier_kind=pl.lit("fax")), rules)
    with pytest.raises(EvidenceError, match="lacks columns"):
        run(two_anchors.drop("rule"), rules)


def test_write_tables_writes_every_table(tmp_path, rules):
    result = run(evidence(("s", "x", "r1", 1, "visit", [("web_visitor_id", "a")])), rules)
    paths = write_tables(result, tmp_path / "identity")
    assert sorted(paths) == sorted(result.tables)
    for name, path in paths.items():
        assert_frame_equal(pl.read_parquet(path), result.tables[name])
    assert sorted(p.name for p in (tmp_path / "identity").iterdir()) == sorted(
        f"{n}.parquet" for n in paths
    )


def test_rehash_after_a_collision_gives_the_same_graph(rules):
    from pipelines.identity.evidence import encode
    from pipelines.identity.reading import prepare_evidence

    frame = evidence(
        ("matomo", "visits", "v2", 2, "login", [("web_user_id", "42"), ("web_visitor_id", "aaa1")]),
        order("o1", 3, "42", " Ann@X.com"),
        ticket("t1", 4, "7", "info@x.com"),
    )
    prepared = prepare_evidence(frame, rules)
    first, second = encode(prepared, rules, None, None, 0), encode(prepared, rules, None, None, 1)
    assert_frame_equal(first.nodes, second.nodes)
    columns = ["row", "left_node", "right_node", "rule"]
    assert_frame_equal(
        first.edges.select(columns).sort("row"), second.edges.select(columns).sort("row")
    )
    assert (
        first.blocked["reason"].to_list()
        == second.blocked["reason"].to_list()
        == ["generic_mailbox"]
    )


def test_erasure_file_is_read_and_checked(tmp_path):
    from pipelines.identity.erasure import read_erasure_file

    path = tmp_path / "erasures.csv"
    path.write_text(
        "identifier_kind,identifier_value,requested_at\nemail, Ann@X.com ,2026-02-01T10:00:00Z\n"
    )
    frame = read_erasure_file(path)
    assert frame.rows() == [("email", " Ann@X.com ", datetime(2026, 2, 1, 10))]
    assert read_erasure_file(None) is None
    path.write_text("kind,value\nemail,a@x.com\n")
    with pytest.raises(EvidenceError, match="lacks columns"):
        read_erasure_file(path)
    with pytest.raises(EvidenceError, match="does not exist"):
        read_erasure_file(tmp_path / "missing.csv")


def test_node_key_collisions_are_split_by_value(monkeypatch, rules):
    """Nodes are grouped by a 64-bit key of (kind, value hash); values that share a key are told
    apart by value. Forcing every value of a kind onto one key must not change any table but
    the order of rows."""
    from devkit.identity.synthetic import generate_evidence
    from pipelines.identity import nodes as module

    frame, _ = generate_evidence(300, seed=11)
    honest = run(frame, rules)
    original = module.node_key

    def colliding(kinds, values, seed):  # the kind's code only: a kind's values all collide
        return original(kinds, values.clear(n=len(values)), seed)

    monkeypatch.setattr(module, "node_key", colliding)
    forced = run(frame, rules)
    for name in ("identity_map", "identity_edges", "identity_rejected_edges"):
        columns = [c for c in honest.tables[name].columns if c != "person_id"]
        assert_frame_equal(
            forced.tables[name].select(columns).sort(pl.all(), nulls_last=True),
            honest.tables[name].select(columns).sort(pl.all(), nulls_last=True),
        )
    assert partition(forced.tables["identity_map"]) == partition(honest.tables["identity_map"])
    assert forced.metrics["persons"] == honest.metrics["persons"]


def test_a_customer_id_of_repeated_digits_is_a_person(rules):
    """Issue 15, cause 7: shop customer 1111111 (a real Shopify id) links its login, orders and
    tickets; a placeholder customer id 0 still links nothing."""
    frame = evidence(
        ("matomo", "visits", "v1", 1, "login", [("web_user_id", "1111111"), ("web_visitor_id", "d1")]),
        order("o1", 2, "1111111", "max@shop.de"),
        ticket("t1", 3, "2222222", "max@shop.de"),
        order("o2", 4, "0", "eva@shop.de"),
    )  # fmt: skip
    result = run(frame, rules)
    assert partition(result.tables["identity_map"]) == {
        frozenset(
            {
                "web_user_id:1111111",
                "web_visitor_id:d1",
                "shop_customer_id:1111111",
                "email:max@shop.de",
                "support_requester_id:2222222",
            }
        ),
        frozenset({"email:eva@shop.de"}),
    }
    rejected = result.tables["identity_rejected_edges"]
    assert rejected.select("left_value", "right_value", "reason").rows() == [
        ("0", "eva@shop.de", "junk_value")
    ]
