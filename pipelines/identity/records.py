"""Records to edges: each record's anchor, the edges inside records, and `same_customer_id`.

Rows are grouped by record key (exactly one anchor per record, else `EvidenceError`); each other
identifier of a record is linked to its anchor, and edges touching a blocked identifier are kept
apart with the reason. `same_customer_edges` adds the contract's one rule across records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.identity.columnar import (
    LATEST,
    MISSING,
    Runs,
    datetime_ints,
    datetimes,
    group_minimum,
    group_rows,
    is_repeated,
)
from pipelines.identity.contract import (
    ACCOUNT_LINK_KINDS,
    EDGE_RULE,
    RECORD,
    SAME_CUSTOMER_RULE,
    EvidenceError,
)
from pipelines.identity.keys import check_keys


@dataclass
class OtherRows:
    """The non-anchor rows, each with its record (number, in record_key order) and anchor row."""

    rows: np.ndarray
    record: np.ndarray
    anchor_row: np.ndarray


def group_records(rows: pl.DataFrame) -> tuple[np.ndarray, OtherRows]:
    """Group rows by record: each record's anchor row (record_key order), and the other rows.

    Exactly one anchor per record (contracts §5.2), else a clear error.
    """
    order, runs, keys = group_rows(rows["record_key"])
    check_keys(keys, rows["record_print"], "record")
    rows = rows.drop("record_print")  # the only reference to it (see encode)
    is_anchor = rows["is_anchor"].to_numpy()[order]
    anchor_rows = order[is_anchor]
    record_of_anchor = runs.number[is_anchor]  # ascending: records are in key order
    if len(anchor_rows) != runs.count or (np.diff(record_of_anchor) != 1).any():
        anchors = np.bincount(record_of_anchor, minlength=runs.count)
    else:
        anchors = np.ones(0, dtype=np.int64)  # exactly one anchor per record
    doubled = np.flatnonzero(anchors > 1)
    if len(doubled):
        raise EvidenceError(
            f"{len(doubled)} records carry more than one anchor identifier, e.g. "
            f"{_examples(rows, order, runs, doubled)}; contracts §5.2 allows exactly one per record"
        )
    orphans = np.flatnonzero(anchors == 0)
    if len(orphans):
        raise EvidenceError(
            f"{len(orphans)} records carry identifiers but no anchor, e.g. "
            f"{_examples(rows, order, runs, orphans)}; contracts §5.2 requires exactly one per record"
        )
    other = ~is_anchor
    record = runs.number[other]
    return anchor_rows, OtherRows(order[other], record, anchor_rows[record])


def _examples(
    rows: pl.DataFrame, order: np.ndarray, runs: Runs, bad: np.ndarray
) -> list[tuple[object, ...]]:
    positions = np.flatnonzero(np.isin(runs.number, bad[:3]))
    records = rows.select(pl.col(RECORD).cast(pl.String))[order[positions]]
    return sorted(records.unique().rows())


@dataclass
class RawPairs:
    """Anchor -> other pairs of different raw identifiers: evidence row, record (number), the two
    raw ids."""

    row: np.ndarray
    record: np.ndarray
    left_raw: np.ndarray
    right_raw: np.ndarray


def anchor_pairs(others: OtherRows, raw_of_row: np.ndarray) -> RawPairs:
    """Each non-anchor row paired with its record's anchor, by raw identifier."""
    left_raw = raw_of_row[others.anchor_row]
    right_raw = raw_of_row[others.rows]
    distinct = np.flatnonzero(left_raw != right_raw)
    return RawPairs(
        row=others.rows[distinct],
        record=others.record[distinct],
        left_raw=left_raw[distinct],
        right_raw=right_raw[distinct],
    )


def record_edges(
    rows: pl.DataFrame, pairs: RawPairs, node_of_raw: np.ndarray, block_reasons: pl.Series
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Edges inside each record, anchor -> every other identifier; those touching a blocked end
    are kept apart with the reason."""
    row, left_raw, right_raw = pairs.row, pairs.left_raw, pairs.right_raw
    left_node, right_node = node_of_raw[left_raw], node_of_raw[right_raw]
    is_blocked = (left_node == MISSING) | (right_node == MISSING)
    record_keys = rows["record_key"].to_numpy()
    observed = rows["observed_at"]

    def at(chosen: np.ndarray, **columns: np.ndarray) -> pl.DataFrame:
        """The chosen edges: their row, record key and time, and the given columns."""
        picked = row[chosen]
        return pl.DataFrame(
            {
                "row": picked,
                "record_key": record_keys[picked],
                "observed_at": observed.gather(picked),
                **{name: values[chosen] for name, values in columns.items()},
            }
        )

    blocked = np.flatnonzero(is_blocked)
    blocked_edges = at(blocked, left_raw=left_raw, right_raw=right_raw).with_columns(
        reason=pl.coalesce(
            block_reasons.gather(left_raw[blocked]), block_reasons.gather(right_raw[blocked])
        ).cast(pl.String)
    )
    kept = np.flatnonzero(~is_blocked & (left_node != right_node))
    edges = at(kept, left_node=left_node, right_node=right_node, record=pairs.record)
    return edges, blocked_edges


def deduplicate(edges: pl.DataFrame) -> pl.DataFrame:
    """One edge per (record, left, right): two raw forms of one identifier in a record give one link.

    The left end is the record's anchor, so (record, right) is the key; a plain sort of it finds
    the (rare) repeats, and only those are sorted fully, so the choice (earliest, then lowest
    row) is deterministic without sorting everything.
    """
    key = pl.Series(
        (edges["record"].to_numpy().astype(np.uint64) << np.uint64(32))
        | edges["right_node"].to_numpy().astype(np.uint64)
    )
    flagged = is_repeated(key)
    edges = edges.drop("record").with_columns(rule=pl.lit(None, dtype=EDGE_RULE))
    if not flagged.any():
        return edges
    repeats = (
        edges.filter(flagged)
        .sort("record_key", "left_node", "right_node", "observed_at", "row")
        .unique(subset=["record_key", "left_node", "right_node"], keep="first", maintain_order=True)
    )
    return pl.concat([edges.filter(~flagged), repeats])


def same_customer_edges(
    rows: pl.DataFrame,
    node_of_row: np.ndarray,
    nodes: pl.DataFrame,
    known_since: np.ndarray | None = None,
) -> pl.DataFrame:
    """Edges `web_user_id` -> `shop_customer_id` of equal value (contract rule `same_customer_id`).

    Provenance: the first record of whichever identifier was observed later, the moment both
    were known. In an incremental run (`known_since`: each node's first sight in the previous
    map, see `number_nodes`) an identifier seen in an earlier run was first observed then, in
    a record of that run: a pair whose later identifier is such a one had its edge drawn
    before, and is not drawn again.
    """
    accounts = nodes.filter(pl.col("kind").is_in(list(ACCOUNT_LINK_KINDS))).select(
        "node", "kind", "value"
    )
    is_account = np.zeros(nodes.height + 1, dtype=bool)
    is_account[accounts["node"].to_numpy()] = True
    selected = np.flatnonzero(is_account[np.minimum(node_of_row, nodes.height)])
    # per account node its first row by (observed_at, nulls last; record_key; row): minima, in turn
    node = node_of_row[selected]
    observed = datetime_ints(rows["observed_at"], LATEST)[selected]
    record_keys = rows["record_key"].to_numpy()[selected]
    earliest = observed == group_minimum(node, observed, nodes.height, LATEST)[node]
    selected, node, observed, record_keys = (
        selected[earliest],
        node[earliest],
        observed[earliest],
        record_keys[earliest],
    )
    lowest = (
        record_keys == group_minimum(node, record_keys, nodes.height, np.iinfo(np.uint64).max)[node]
    )
    selected, node = selected[lowest], node[lowest]
    first_row = group_minimum(node, selected, nodes.height, np.iinfo(selected.dtype).max)
    account_nodes = accounts["node"].to_numpy()
    row = first_row[account_nodes]
    seen = row != np.iinfo(selected.dtype).max
    row = row[seen]
    first = pl.DataFrame(
        {
            "node": account_nodes[seen],
            "row": row.astype(np.uint32),
            "record_key": rows["record_key"].to_numpy()[row],
            "observed_at": rows["observed_at"].gather(row),
        }
    )
    first = accounts.join(first, on="node", how="left")
    if known_since is not None:  # first sight in an earlier run: its time, no record tonight
        since = datetimes(known_since[first["node"].to_numpy()], LATEST, "since")
        earlier = since.is_not_null()
        first = first.with_columns(
            pl.when(earlier).then(since).otherwise(pl.col("observed_at")).alias("observed_at"),
            *(
                pl.when(earlier).then(None).otherwise(pl.col(column)).alias(column)
                for column in ("row", "record_key")
            ),
        )
    users = first.filter(pl.col("kind") == "web_user_id")
    customers = first.filter(pl.col("kind") == "shop_customer_id")
    pairs = users.join(customers, on="value", suffix="_right").filter(
        pl.col("observed_at").is_not_null() | pl.col("observed_at_right").is_not_null()
    )
    user_later = pl.col("observed_at_right").is_null() | (
        pl.col("observed_at").is_not_null()
        & (
            (pl.col("observed_at") > pl.col("observed_at_right"))
            | (
                (pl.col("observed_at") == pl.col("observed_at_right"))
                & (pl.col("record_key") > pl.col("record_key_right"))
            )
        )
    )

    def later(column: str) -> pl.Expr:
        return pl.when(user_later).then(pl.col(column)).otherwise(pl.col(f"{column}_right"))

    return pairs.filter(later("row").is_not_null()).select(
        later("row").alias("row"),
        later("record_key").alias("record_key"),
        later("observed_at").alias("observed_at"),
        pl.col("node").alias("left_node"),
        pl.col("node_right").alias("right_node"),
        pl.lit(SAME_CUSTOMER_RULE, dtype=EDGE_RULE).alias("rule"),
    )
