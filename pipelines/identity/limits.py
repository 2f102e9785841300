"""Limits against over-merging, on integer-encoded identifier pairs.

* Per-identifier degree limits (`limits.per_identifier`): an identifier of one kind links
  directly to at most N distinct identifiers of another kind; earliest evidence wins.
* One account per person (`limits.one_account_per_person`) across whole chains of links:
  `graph.account_cut` (Kruskal with a virtual root, earliest evidence wins).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.identity.graph import account_cut
from pipelines.identity.rules import IdentityRules

ACCOUNT_REASON = "one_account_per_person"


def rank_pairs(edges: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Collapse edges to identifier pairs ranked by earliest evidence.

    Returns the edges sorted by pair (then time) with `pair_key` and `pair_index`, and one row
    per pair in pair_key order: `pair_key, low, high, rank` plus the provenance of its earliest
    edge. Rank order: observed_at, then the pair's identifiers in (kind, value) order — a
    canonical order that does not depend on input row order.
    """
    low = pl.min_horizontal("left_node", "right_node").cast(pl.UInt64)
    high = pl.max_horizontal("left_node", "right_node").cast(pl.UInt64)
    edges = (
        edges.with_columns(pair_key=low * (1 << 32) + high)
        # stable sort: within one record a pair has at most one evidence edge, followed by its
        # same_customer_id edge (appended last by evidence.encode), so ties keep a fixed order
        .sort("pair_key", "observed_at", "record_key", nulls_last=True, maintain_order=True)
        .with_columns(
            pair_index=(pl.col("pair_key") != pl.col("pair_key").shift(1)).fill_null(True).cum_sum()
            - 1
        )
    )
    pairs = edges.unique(subset="pair_key", keep="first", maintain_order=True).drop("pair_index")
    order = (
        pairs.select(pl.arg_sort_by(["observed_at", "pair_key"], nulls_last=True))
        .to_series()
        .to_numpy()
    )
    rank = np.empty(len(order), dtype=np.uint32)
    rank[order] = np.arange(len(order), dtype=np.uint32)
    pairs = pairs.with_columns(
        rank=pl.Series(rank),
        low=(pl.col("pair_key") // (1 << 32)).cast(pl.UInt32),
        high=(pl.col("pair_key") % (1 << 32)).cast(pl.UInt32),
    )
    return edges, pairs


def degree_limit_rejections(
    pairs: pl.DataFrame, node_info: pl.DataFrame, rules: IdentityRules, incremental: bool
) -> pl.DataFrame:
    """`rank, reason` for each pair breaking a per-identifier degree limit.

    Each identifier's distinct linked identifiers of a kind are ranked by their pair's rank
    (earliest evidence first); those beyond `max` are rejected. In an incremental run the
    identifiers of that kind already in the identifier's previous person count first.
    """
    if not rules.degree_limits:
        return pl.DataFrame(schema={"rank": pl.UInt32, "reason": pl.String})
    limits = pl.DataFrame(
        {
            "node_kind": [limit.kind for limit in rules.degree_limits],
            "linked_kind": [limit.linked_kind for limit in rules.degree_limits],
            "max_linked": [limit.max_linked for limit in rules.degree_limits],
            "reason": [limit.reason for limit in rules.degree_limits],
        }
    )
    # kinds by gather (nodes are numbered by row), then keep only the limited kind pairs
    kinds = node_info["kind"]
    oriented = pl.concat(
        [
            pairs.select("rank", pl.col("low").alias("node"), pl.col("high").alias("linked")),
            pairs.select("rank", pl.col("high").alias("node"), pl.col("low").alias("linked")),
        ]
    )
    oriented = oriented.with_columns(
        node_kind=kinds.gather(oriented["node"]), linked_kind=kinds.gather(oriented["linked"])
    ).join(limits, on=["node_kind", "linked_kind"])
    persons = node_info["previous_person_id"]
    oriented = oriented.with_columns(
        node_person=persons.gather(oriented["node"]),
        linked_person=persons.gather(oriented["linked"]),
    )
    info = node_info.select("node", "kind", "previous_person_id")
    if incremental:
        known = pl.col("node_person").is_not_null() & (
            pl.col("node_person") == pl.col("linked_person")
        )
        prior = (
            info.filter(pl.col("previous_person_id").is_not_null())
            .group_by("previous_person_id", "kind")
            .len()
            .rename({"previous_person_id": "node_person", "kind": "linked_kind", "len": "prior"})
        )
        oriented = oriented.join(prior, on=["node_person", "linked_kind"], how="left")
    else:
        known = pl.lit(False)
        oriented = oriented.with_columns(prior=pl.lit(0, dtype=pl.UInt32))
    ranked = oriented.filter(~known).with_columns(
        position=pl.col("rank").rank("ordinal").over("node", "linked_kind")
        + pl.col("prior").fill_null(0)
    )
    return (
        ranked.filter(pl.col("position") > pl.col("max_linked"))
        .group_by("rank")
        .agg(pl.col("reason").min())
    )


def frozen_edges(node_info: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Star edges joining each previous person's identifiers (incremental runs)."""
    members = node_info.filter(pl.col("previous_person_id").is_not_null()).select(
        "node", "previous_person_id"
    )
    centre = members.group_by("previous_person_id").agg(pl.col("node").min().alias("centre"))
    star = members.join(centre, on="previous_person_id").filter(pl.col("node") != pl.col("centre"))
    star = star.sort("centre", "node")
    return star["centre"].to_numpy().astype(np.int64), star["node"].to_numpy().astype(np.int64)


def account_keys(node_info: pl.DataFrame, rules: IdentityRules) -> np.ndarray:
    """Account key per node (equal values across the account kinds share a key), else -1."""
    is_account = pl.col("kind").is_in(list(rules.account_kinds))
    account_value = pl.when(is_account).then(pl.col("value"))
    keys = node_info.select(
        "node", account=account_value.rank("dense").fill_null(0).cast(pl.Int64) - 1
    )
    account = np.full(node_info.height, -1, dtype=np.int64)
    account[keys["node"].to_numpy()] = keys["account"].to_numpy()
    return account


def account_rejections(
    pairs: pl.DataFrame, node_info: pl.DataFrame, rules: IdentityRules, incremental: bool
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """`rank, reason` of the open pairs cut by one-account-per-person, and the kept frozen edges."""
    open_pairs = pairs.filter(pl.col("reason").is_null()).sort("rank")
    frozen_left, frozen_right = frozen_edges(node_info) if incremental else (None, None)
    keep, frozen_keep = account_cut(
        node_info.height,
        open_pairs["low"].to_numpy().astype(np.int64),
        open_pairs["high"].to_numpy().astype(np.int64),
        account_keys(node_info, rules),
        frozen_left,
        frozen_right,
    )
    cut = open_pairs.filter(~pl.Series(keep)).select("rank", reason=pl.lit(ACCOUNT_REASON))
    if frozen_left is None:
        return cut, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return cut, frozen_left[frozen_keep], frozen_right[frozen_keep]
