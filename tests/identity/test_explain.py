"""Explain: the Python function, the SQL recipe and the command agree on the chain."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from pipelines.identity.__main__ import main
from pipelines.identity.explain import (
    APART_COLUMNS,
    EXPLAIN_SQL,
    HOP_COLUMNS,
    DifferentPersonsError,
    NotLinkedError,
    explain_in_warehouse,
    explain_link,
)
from pipelines.identity.rules import load_rules
from pipelines.identity.stitch import stitch
from tests.identity.conftest import RUN_AT, day, evidence, form_fill, order, ticket


@pytest.fixture(scope="module")
def stitched():
    from pipelines.identity.rules import load_rules

    frame = evidence(
        ("matomo", "visits", "v1", 1, "login", [("web_user_id", "42"), ("web_visitor_id", "d1")]),
        order("o1", 2, "42", "Ann@x.com"),
        order("o2", 5, "42", "ann@x.com"),
        ticket("t1", 3, "7", "ann@x.com"),
        ("matomo", "visits", "v2", 4, "visit", [("web_visitor_id", "d9")]),
        # a second shop account with Ann's e-mail: the email -> customer limit refuses the link
        order("o3", 6, "43", "ann@x.com"),
        form_fill("v3", 8, "d9", "test@example.com"),  # a test address: blocked
    )
    return stitch(frame, rules=load_rules(), run_id="r", run_at=RUN_AT)


EXPECTED = [
    (1, "web_visitor_id", "d1", "web_user_id", "42", "matomo", "visits", "v1", "login", day(1)),
    (
        2,
        "web_user_id",
        "42",
        "shop_customer_id",
        "42",
        "shopify",
        "orders",
        "o1",
        "same_customer_id",
        day(2),
    ),
    (3, "shop_customer_id", "42", "email", "ann@x.com", "shopify", "orders", "o1", "order", day(2)),
    (
        4,
        "email",
        "ann@x.com",
        "support_requester_id",
        "7",
        "zendesk",
        "tickets",
        "t1",
        "ticket",
        day(3),
    ),
]


def test_explain_link_returns_the_shortest_chain(stitched):
    hops = explain_link(
        stitched.tables["identity_edges"], ("web_visitor_id", "d1"), ("support_requester_id", "7")
    )
    assert hops.columns == HOP_COLUMNS
    assert hops.rows() == EXPECTED
    with pytest.raises(NotLinkedError):
        explain_link(
            stitched.tables["identity_edges"], ("web_visitor_id", "d1"), ("web_visitor_id", "d9")
        )


@pytest.fixture
def warehouse(tmp_path, stitched):
    path = tmp_path / "journey.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute("create schema identity")
    for name in ("identity_edges", "identity_map", "identity_rejected_edges"):
        frame = stitched.tables[name]  # noqa: F841 (read by DuckDB)
        connection.execute(f"create table identity.{name} as select * from frame")
    connection.close()
    return path


def test_sql_recipe_matches(warehouse):
    connection = duckdb.connect(str(warehouse), read_only=True)
    connection.execute("set search_path = 'identity'")
    parameters = {
        "from_kind": "web_visitor_id",
        "from_value": "d1",
        "to_kind": "support_requester_id",
        "to_value": "7",
        "max_hops": 8,
    }
    rows = connection.execute(EXPLAIN_SQL, parameters).pl()
    connection.close()
    assert rows.select(HOP_COLUMNS).rows() == EXPECTED


def test_command_prints_the_chain(warehouse, capsys):
    status = main(
        ["explain", "--warehouse", str(warehouse), "web_visitor_id:D1 ", "support_requester_id:7"]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "linked in 4 hop(s)" in out and "same_customer_id" in out and "t1" in out
    assert (
        main(["explain", "--warehouse", str(warehouse), "web_visitor_id:d1", "web_visitor_id:d9"])
        == 1
    )
    assert main(["explain", "--warehouse", str(warehouse), "nonsense", "email:x@y.com"]) == 2
    assert isinstance(pl.DataFrame(), pl.DataFrame)


def _person(stitched, kind: str, value: str) -> str:
    persons = stitched.tables["identity_map"].filter(
        (pl.col("identifier_kind") == kind) & (pl.col("identifier_value") == value)
    )
    return persons["person_id"].item()


def test_two_persons_are_told_apart_with_the_link_that_was_refused(stitched, warehouse):
    """Issue 15, cause 8: not "has no accepted edge", but: different persons, which ones, and
    the nearest evidence between them ending in the refused link that kept them apart."""
    with pytest.raises(DifferentPersonsError) as caught:
        explain_in_warehouse(
            warehouse, ("web_visitor_id", "d1"), ("shop_customer_id", "43"), load_rules()
        )
    ann, other = (
        _person(stitched, "web_visitor_id", "d1"),
        _person(stitched, "shop_customer_id", "43"),
    )
    assert ann != other and caught.value.persons == (ann, other)
    assert str(caught.value) == (
        f"web_visitor_id:d1 and shop_customer_id:43 are different persons: {ann} and {other}; "
        "the nearest evidence between them is 4 hop(s), 1 of them refused "
        "(limit:email->shop_customer_id)"
    )
    assert caught.value.evidence.columns == APART_COLUMNS
    assert caught.value.evidence.rows() == [
        (*EXPECTED[0], "accepted", None),
        (*EXPECTED[1], "accepted", None),
        (*EXPECTED[2], "accepted", None),
        (4, "email", "ann@x.com", "shop_customer_id", "43", "shopify", "orders", "o3", "order",
         day(6), "rejected", "limit:email->shop_customer_id"),
    ]  # fmt: skip


def test_persons_without_evidence_between_them_and_identifiers_without_a_person(warehouse):
    with pytest.raises(DifferentPersonsError) as caught:
        explain_in_warehouse(
            warehouse, ("web_visitor_id", "d9"), ("shop_customer_id", "43"), load_rules()
        )
    assert "no accepted or refused link connects their identifiers" in str(caught.value)
    assert caught.value.evidence.height == 0
    with pytest.raises(NotLinkedError, match=r"email:test@example.com is not a person identifier: "
                       r"its links were refused: test_address \(1 link\(s\)\)"):  # fmt: skip
        explain_in_warehouse(
            warehouse, ("email", "test@example.com"), ("web_visitor_id", "d9"), load_rules()
        )
    with pytest.raises(NotLinkedError, match=r"email:nobody@x\.com is in no record"):
        explain_in_warehouse(
            warehouse, ("email", "nobody@x.com"), ("web_visitor_id", "d9"), load_rules()
        )


def test_the_command_says_different_persons(warehouse, stitched, capsys):
    status = main(
        ["explain", "--warehouse", str(warehouse), "web_visitor_id:d1", "shop_customer_id:43"]
    )
    out = capsys.readouterr().out
    assert status == 1
    assert "are different persons" in out and _person(stitched, "shop_customer_id", "43") in out
    assert "limit:email->shop_customer_id" in out and "o3" in out
