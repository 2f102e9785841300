"""Zendesk records are generated as real accounts hold them (docs/contracts.md §1.4): deleted
tickets, tickets closed by a merge, every status and several channels, the nulls the API
documents, and no metric set or rating a deleted ticket could not have."""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl
import pytest

from tests.demo.helpers import latest, vendor

pytestmark = pytest.mark.xdist_group("demo-dataset")


def served(dataset: Path, stream: str) -> list[dict]:
    return [orjson.loads(text) for text in latest(vendor(dataset, "zendesk", stream))["record"]]


def test_tickets_hold_deletions_merges_statuses_channels_and_nulls(dataset: Path) -> None:
    tickets = served(dataset, "tickets")
    every_version = [orjson.loads(t) for t in vendor(dataset, "zendesk", "tickets")["record"]]
    statuses = {t["status"] for t in every_version}
    assert statuses == {"new", "open", "pending", "hold", "solved", "closed", "deleted"}
    deleted = [t for t in tickets if t["status"] == "deleted"]
    merged = [t for t in tickets if "closed_by_merge" in t["tags"]]
    assert deleted and merged
    assert all(t["status"] == "closed" and t["via"]["channel"] == "email" for t in merged)
    requesters = {t["requester_id"] for t in tickets if "closed_by_merge" not in t["tags"]}
    assert {t["requester_id"] for t in merged} <= requesters  # a duplicate of their own ticket
    assert len({t["via"]["channel"] for t in tickets}) >= 5
    assert any(t["type"] is None for t in tickets) and any(t["priority"] is None for t in tickets)
    assert any(t["assignee_id"] is None for t in every_version)


def test_a_deleted_ticket_changes_no_more(dataset: Path) -> None:
    versions = vendor(dataset, "zendesk", "tickets").with_columns(
        status=pl.col("record").str.json_path_match("$.status")
    )
    deleted_at = versions.filter(pl.col("status") == "deleted").select(
        "record_id", deleted_at="updated_at"
    )
    later = versions.join(deleted_at, on="record_id").filter(
        pl.col("updated_at") > pl.col("deleted_at")
    )
    assert deleted_at.height > 0 and later.height == 0
    metrics = vendor(dataset, "zendesk", "ticket_metrics").join(
        deleted_at, left_on="parent_id", right_on="record_id"
    )
    assert metrics.filter(pl.col("updated_at") > pl.col("deleted_at")).height == 0
    ratings = vendor(dataset, "zendesk", "satisfaction_ratings").with_columns(
        ticket_id=pl.col("record").str.json_path_match("$.ticket_id")
    )
    rated = ratings.join(deleted_at, left_on="ticket_id", right_on="record_id")
    assert rated.filter(pl.col("updated_at") >= pl.col("deleted_at")).height == 0


def test_ratings_leave_null_what_the_requester_left_out(dataset: Path) -> None:
    ratings = served(dataset, "satisfaction_ratings")
    assert {r["score"] for r in ratings} == {"good", "bad"}
    assert any(r["comment"] is None for r in ratings)
    assert all((r["reason"] is None) == (r["score"] == "good") for r in ratings)


def test_a_small_world_with_an_empty_part_of_the_ticket_plan_generates(tmp_path: Path) -> None:
    # At 50 persons, seed 8 plans no ticket in one part of the ticket plan: that empty part was
    # built with Null columns and the concatenation failed (polars SchemaError).
    from devkit.demo.generator import generate

    generate(tmp_path, persons=50, seed=8)
    tickets = latest(vendor(tmp_path, "zendesk", "tickets"))
    assert tickets.height > 0  # the other parts of the plan (after-sale, pre-sale) still ticket
