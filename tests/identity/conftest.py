from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from pipelines.identity.contract import EVIDENCE_SCHEMA
from pipelines.identity.rules import load_rules, rules_from_mapping

EVIDENCE_COLUMNS = list(EVIDENCE_SCHEMA)
RUN_AT = datetime(2026, 3, 1)


def day(number: int) -> datetime:
    return datetime(2026, 1, number)


def evidence(*records: tuple) -> pl.DataFrame:
    """Evidence from compact records: (source, stream, record_id, day, rule, [(kind, value), ...]).

    The first identifier of each record is its anchor.
    """
    rows = []
    for source, stream, record_id, number, rule, identifiers in records:
        for position, (kind, value) in enumerate(identifiers):
            rows.append((source, stream, record_id, day(number), rule, kind, value, position == 0))
    return pl.DataFrame(rows, schema=EVIDENCE_COLUMNS, orient="row").cast(
        {"observed_at": pl.Datetime("us")}
    )


def form_fill(record_id: str, number: int, device: str, email: str) -> tuple:
    return (
        "matomo",
        "visits",
        record_id,
        number,
        "form_fill",
        [("web_visitor_id", device), ("email", email)],
    )


def order(record_id: str, number: int, customer: str, email: str) -> tuple:
    return (
        "shopify",
        "orders",
        record_id,
        number,
        "order",
        [("shop_customer_id", customer), ("email", email)],
    )


def ticket(record_id: str, number: int, requester: str, email: str) -> tuple:
    return (
        "zendesk",
        "tickets",
        record_id,
        number,
        "ticket",
        [("support_requester_id", requester), ("email", email)],
    )


@pytest.fixture(scope="session")
def rules():
    return load_rules()


def rules_with(**overrides):
    """Default rules with top-level keys of the YAML mapping replaced."""
    import yaml

    from pipelines.identity.rules import DEFAULT_RULES_PATH

    raw = yaml.safe_load(DEFAULT_RULES_PATH.read_text())
    raw.update(overrides)
    return rules_from_mapping(raw)


def split_records(evidence: pl.DataFrame, cutoff: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Evidence before and from `cutoff`, by whole records: a record moves to the new batch
    when any of its rows is new."""
    key = ["source", "stream", "record_id"]
    new_records = evidence.filter(pl.col("observed_at") >= cutoff).select(key).unique()
    return (
        evidence.join(new_records, on=key, how="anti"),
        evidence.join(new_records, on=key, how="semi"),
    )


def partition(identity_map: pl.DataFrame) -> set[frozenset[str]]:
    """The persons as sets of `kind:value`, independent of their ids."""
    groups = identity_map.group_by("person_id").agg(
        (pl.col("identifier_kind") + ":" + pl.col("identifier_value")).alias("members")
    )
    return {frozenset(members) for members in groups["members"].to_list()}
