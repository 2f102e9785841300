"""The evidence contract (contracts §5.2, §5.3) as the stitcher reads it: columns, kinds, rules.

The identifier kinds are a small Enum in name order (`KIND`), so that sorting by kind is sorting
by its name, and `KIND_BITS` is how many bits of a 64-bit key hold a kind's code (keys.py).
"""

from __future__ import annotations

import polars as pl

from pipelines.identity.rules import KNOWN_KINDS

RECORD = ["source", "stream", "record_id"]
LINK_COLUMNS = ["left_kind", "left_value", "right_kind", "right_value"]
IDENTIFIER = ["identifier_kind", "identifier_value"]
EVIDENCE_SCHEMA = pl.Schema(
    {
        "source": pl.String(),
        "stream": pl.String(),
        "record_id": pl.String(),
        "observed_at": pl.Datetime("us"),
        "rule": pl.String(),
        "identifier_kind": pl.String(),
        "identifier_value": pl.String(),
        "is_anchor": pl.Boolean(),
    }
)
MAP_SCHEMA = pl.Schema(
    {
        "identifier_kind": pl.String(),
        "identifier_value": pl.String(),
        "person_id": pl.String(),
        "first_seen_at": pl.Datetime("us"),
        "last_seen_at": pl.Datetime("us"),
    }
)
SAME_CUSTOMER_RULE = "same_customer_id"
ACCOUNT_LINK_KINDS = ("web_user_id", "shop_customer_id")
# kinds as a small Enum in name order, so that sorting by kind is sorting by its name
KIND = pl.Enum(sorted(KNOWN_KINDS))
KIND_BITS = max(1, (len(KNOWN_KINDS) - 1).bit_length())
EDGE_RULE = pl.Enum([SAME_CUSTOMER_RULE])
PROVENANCE = ["source", "stream", "rule"]


class EvidenceError(ValueError):
    """The evidence breaks contracts §5.2; the message says what, where and what to do."""
