"""Explain: the Python function, the SQL recipe and the command agree on the chain."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from pipelines.identity.__main__ import main
from pipelines.identity.explain import EXPLAIN_SQL, HOP_COLUMNS, NotLinkedError, explain_link
from pipelines.identity.stitch import stitch
from tests.identity.conftest import RUN_AT, day, evidence, order, ticket


@pytest.fixture(scope="module")
def stitched():
    from pipelines.identity.rules import load_rules

    frame = evidence(
        ("matomo", "visits", "v1", 1, "login", [("web_user_id", "42"), ("web_visitor_id", "d1")]),
        order("o1", 2, "42", "Ann@x.com"),
        order("o2", 5, "42", "ann@x.com"),
        ticket("t1", 3, "7", "ann@x.com"),
        ("matomo", "visits", "v2", 4, "visit", [("web_visitor_id", "d9")]),
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
    for name in ("identity_edges", "identity_map"):
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
