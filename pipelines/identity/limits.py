"""Limits against over-merging, on integer-encoded identifier pairs.

* Per-identifier degree limits (`limits.per_identifier`): an identifier of one kind links
  directly to at most N distinct identifiers of another kind; earliest evidence wins.
* One account per person (`limits.one_account_per_person`) across whole chains of links:
  `graph.account_cut` (Kruskal with a virtual root, earliest evidence wins).

Orders come from stable single-column sorts (columnar.order_by), never a multi-column sort.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

from pipelines.identity.columnar import LATEST, Runs, datetime_ints, order_by
from pipelines.identity.contract import KIND, KIND_BITS
from pipelines.identity.graph import account_cut, component_labels
from pipelines.identity.rules import IdentityRules

ACCOUNT_REASON = "one_account_per_person"
LOW_BITS = np.uint64(32)


def rank_pairs(edges: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Collapse edges to identifier pairs ranked by earliest evidence.

    Returns the edges sorted by pair (then time) with `pair_key` and `pair_index`, and one row
    per pair in pair_key order: `pair_key, low, high, rank` plus the provenance of its earliest
    edge. Rank order: observed_at, then the pair's identifiers in node order
    (nodes.number_nodes), a canonical order that does not depend on input row order.
    """
    pair_key = pl.Series(
        "pair_key", pair_keys(edges["left_node"].to_numpy(), edges["right_node"].to_numpy())
    )
    order = _pair_time_order(pair_key, edges["observed_at"], edges["record_key"])
    edges = edges.drop("record_key").with_columns(pair_key)[order]
    runs = Runs.of(edges["pair_key"].to_numpy())
    edges = edges.with_columns(pair_index=pl.Series(runs.number))
    pairs = edges.drop("pair_index")[runs.starts]
    # pairs are in pair_key order, so a stable sort by time breaks ties by pair_key
    by_time = order_by(pairs["observed_at"], nulls_last=True)
    rank = np.empty(len(by_time), dtype=np.uint32)
    rank[by_time] = np.arange(len(by_time), dtype=np.uint32)
    pairs = pairs.with_columns(rank=pl.Series(rank), **_pair_ends(pairs["pair_key"]))
    return edges, pairs


def pair_keys(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """One uint64 per unordered node pair: the lower node in the high half, the higher below."""
    return (np.minimum(left, right).astype(np.uint64) << LOW_BITS) | np.maximum(left, right).astype(
        np.uint64
    )


def _pair_ends(pair_key: pl.Series) -> dict[str, pl.Series]:
    """The two nodes of each pair key (`pair_keys`): `low` and `high`."""
    keys = pair_key.to_numpy()
    return {
        "low": pl.Series((keys >> LOW_BITS).astype(np.uint32)),
        "high": pl.Series((keys & np.uint64(0xFFFF_FFFF)).astype(np.uint32)),
    }


def prior_pairs(links: pl.DataFrame, node_info: pl.DataFrame) -> pl.DataFrame:
    """The previous links (evidence.prepare_previous_links) between tonight's nodes:
    `pair_key, low, high, reason`. Links with an end that is no node now (blocked by the
    rules, or erased) are left out."""
    nodes = node_info.select("node", pl.col("kind").cast(pl.String), "value")
    ends = links
    for side in ("left", "right"):
        ends = ends.join(
            nodes.rename(
                {"node": f"{side}_node", "kind": f"{side}_kind", "value": f"{side}_value"}
            ),
            on=[f"{side}_kind", f"{side}_value"],
        )
    # one row per node pair: several records carry a pair, and two spellings of a pair may have
    # been stored before; a pair is accepted or refused as a whole
    prior = (
        pl.DataFrame(
            {
                "pair_key": pair_keys(ends["left_node"].to_numpy(), ends["right_node"].to_numpy()),
                "reason": ends["reason"],
            }
        )
        .group_by("pair_key")
        .agg(pl.col("reason").drop_nulls().min())
    )
    return prior.with_columns(**_pair_ends(prior["pair_key"]))


def repeated_rejections(
    pairs: pl.DataFrame, prior: pl.DataFrame, reasons: list[str]
) -> pl.DataFrame:
    """`rank, reason` for tonight's pairs refused before: a pair keeps its decision (its
    earliest evidence is old). Reasons the rules no longer name are decided again."""
    refused = prior.filter(pl.col("reason").is_in(reasons)).select("pair_key", "reason")
    return pairs.select("pair_key", "rank").join(refused, on="pair_key").select("rank", "reason")


def _pair_time_order(
    pair_key: pl.Series, observed_at: pl.Series, record_key: pl.Series
) -> np.ndarray:
    """The stable order by (pair_key, observed_at nulls last, record_key).

    Stable: within one record a pair has at most one evidence edge, followed by its
    same_customer_id edge (appended last by evidence.encode), so ties keep a fixed order. Two
    stable sorts give the order by (pair, time); only the runs tied on both (the same pair seen
    at the same instant in several records) are then ordered by record_key.
    """
    order = order_by(pair_key, observed_at, nulls_last=True)
    keys = pair_key.to_numpy()[order]
    instants = datetime_ints(observed_at, LATEST)[order]
    tied = (keys[1:] == keys[:-1]) & (instants[1:] == instants[:-1])
    if not tied.any():
        return order
    member = np.zeros(len(order), dtype=bool)
    member[1:] |= tied
    member[:-1] |= tied
    positions = np.flatnonzero(member)
    # a tie run starts at a member whose predecessor it is not tied to
    starts = np.ones(len(positions), dtype=bool)
    starts[1:] = ~tied[positions[1:] - 1]
    run = np.cumsum(starts, dtype=np.uint32)
    tied_rows = order[positions]
    within = order_by(pl.Series(run), record_key.gather(tied_rows))
    order[positions] = tied_rows[within]
    return order


def degree_limit_rejections(
    pairs: pl.DataFrame,
    node_info: pl.DataFrame,
    rules: IdentityRules,
    prior: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """`rank, reason` for each pair breaking a per-identifier degree limit.

    Each identifier's distinct linked identifiers of a kind are ranked by their pair's rank
    (earliest evidence first); those beyond `max` are rejected. In an incremental run, `prior`
    (`prior_pairs`) holds the pairs decided before, all earlier than tonight's: they are not
    ranked again, and each identifier's prior links of a kind come first in its ranking.
    """
    if not rules.degree_limits:
        return pl.DataFrame(schema={"rank": pl.UInt32, "reason": pl.String})
    code = {kind: position for position, kind in enumerate(KIND.categories)}
    # by (kind, linked kind) code, packed as kind << KIND_BITS | linked kind (shifts, not division)
    limit_of = np.full(1 << (2 * KIND_BITS), -1, dtype=np.int64)
    for index, limit in enumerate(rules.degree_limits):  # the handful of configured limits
        limit_of[code[limit.kind] << KIND_BITS | code[limit.linked_kind]] = index
    max_linked = np.array([limit.max_linked for limit in rules.degree_limits])
    reasons = pl.Series([limit.reason for limit in rules.degree_limits])
    kinds = node_info["kind"].to_physical().to_numpy()  # one byte per node: gathers stay cached

    def kind_pair(node: np.ndarray, linked_kind: np.ndarray) -> np.ndarray:
        return (kinds[node].astype(np.intp) << KIND_BITS) | linked_kind

    def node_groups(
        low: np.ndarray, high: np.ndarray, chosen: np.ndarray | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Each pair oriented both ways: (node << KIND_BITS | linked kind), and which pairs."""
        for node, linked in ((low, high), (high, low)):
            limited = limit_of[kind_pair(node, kinds[linked])] >= 0
            picked = np.flatnonzero(limited if chosen is None else limited & chosen)
            yield (
                (
                    (node[picked].astype(np.uint64) << np.uint64(KIND_BITS))
                    | kinds[linked[picked]].astype(np.uint64)
                ),
                picked,
            )

    rank, low, high = (pairs[column].to_numpy() for column in ("rank", "low", "high"))
    fresh = None if prior is None else ~pairs["pair_key"].is_in(prior["pair_key"]).to_numpy()
    groups, ranks = [], []
    for group, picked in node_groups(low, high, fresh):
        groups.append(group)
        ranks.append(rank[picked])
    group, ranked = _sorted_pairs(np.concatenate(groups), np.concatenate(ranks))
    runs = Runs.of(group)
    position = np.arange(len(group)) - runs.starts[runs.number] + 1
    node = (group >> np.uint64(KIND_BITS)).astype(np.int64)
    linked_kind = (group & np.uint64((1 << KIND_BITS) - 1)).astype(np.int64)
    limit = limit_of[kind_pair(node, linked_kind)]
    if prior is not None:
        earlier = np.concatenate(
            [found for found, _ in node_groups(prior["low"].to_numpy(), prior["high"].to_numpy())]
        )
        position += _counts_of(group, earlier)
    over = np.flatnonzero(position > max_linked[limit])
    return (
        pl.DataFrame({"rank": ranked[over], "reason": reasons.gather(limit[over])})
        .group_by("rank")
        .agg(pl.col("reason").min())
    )


def _counts_of(values: np.ndarray, population: np.ndarray) -> np.ndarray:
    """How often each of `values` occurs in `population` (both uint64)."""
    ordered = np.sort(population)
    first = np.searchsorted(ordered, values, side="left")
    return np.searchsorted(ordered, values, side="right") - first


def _sorted_pairs(major: np.ndarray, minor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`major, minor` (unsigned) sorted by (major, minor): one plain sort of both packed into
    64 bits when they fit, else a stable two-column order."""
    minor_bits = int(minor.max()).bit_length() if len(minor) else 0
    major_bits = int(major.max()).bit_length() if len(major) else 0
    if major_bits + minor_bits <= 64:
        packed = (major.astype(np.uint64) << np.uint64(minor_bits)) | minor.astype(np.uint64)
        packed.sort()
        mask = np.uint64((1 << minor_bits) - 1)
        return packed >> np.uint64(minor_bits), (packed & mask).astype(minor.dtype)
    order = order_by(pl.Series(major), pl.Series(minor))
    return major[order], minor[order]


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
    keys = node_info.filter(pl.col("kind").is_in(list(rules.account_kinds))).select(
        "node", account=pl.col("value").rank("dense").cast(pl.Int64) - 1
    )
    account = np.full(node_info.height, -1, dtype=np.int64)
    account[keys["node"].to_numpy()] = keys["account"].fill_null(-1).to_numpy()
    return account


def account_rejections(
    pairs: pl.DataFrame, node_info: pl.DataFrame, rules: IdentityRules, incremental: bool
) -> tuple[pl.DataFrame, np.ndarray]:
    """`rank, reason` of the open pairs cut by one-account-per-person, and the component label
    of each node once the cut pairs are gone (the previous persons' links included).

    `pairs` carries `reason` (null: open).
    """
    rank = pairs["rank"].to_numpy()
    is_open = pairs["reason"].is_null().to_numpy()
    by_rank = np.empty(len(rank), dtype=np.int64)
    by_rank[rank] = np.arange(len(rank))
    open_pairs = by_rank[is_open[by_rank]]
    frozen_left, frozen_right = frozen_edges(node_info) if incremental else (None, None)
    # the whole graph's components from the open pairs in pair order (sorted by low end: the
    # quickest to label), unless the previous persons' links join in
    labels = (
        None
        if incremental
        else component_labels(
            node_info.height, pairs["low"].to_numpy()[is_open], pairs["high"].to_numpy()[is_open]
        )
    )
    keep, labels = account_cut(
        node_info.height,
        pairs["low"].to_numpy()[open_pairs].astype(np.int64),
        pairs["high"].to_numpy()[open_pairs].astype(np.int64),
        account_keys(node_info, rules),
        frozen_left,
        frozen_right,
        labels,
    )
    cut = pl.DataFrame({"rank": rank[open_pairs[~keep]]}, schema={"rank": pl.UInt32}).with_columns(
        reason=pl.lit(ACCOUNT_REASON)
    )
    return cut, labels
