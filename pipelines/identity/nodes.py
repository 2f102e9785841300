"""Identifiers to nodes: rows grouped by raw identifier, then distinct published identifiers numbered.

Raw identifiers are grouped by their 64-bit key (kind in the top bits), so each kind is one slice
of the raw table; nodes are numbered in node order (kind, hash of the value, value), canonical
and found by one integer sort instead of a sort of millions of strings.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.identity.columnar import (
    EARLIEST,
    LATEST,
    MISSING,
    Runs,
    datetime_ints,
    datetimes,
    distinct_values,
    group_minimum,
    group_rows,
    order_by,
    seen_range,
)
from pipelines.identity.contract import KIND
from pipelines.identity.keys import NODE_SEEDS, check_keys, node_key


def distinct_identifiers(
    raw_key: pl.Series, raw_print: pl.Series, rows: pl.DataFrame
) -> tuple[np.ndarray, pl.DataFrame]:
    """Group rows by raw identifier: each row's raw id, and per raw id its kind, first row, times.

    Raw ids are numbered in key order, which is kind order (the kind is the key's top bits), so
    that each kind is one slice of the raw table. `raw_key, raw_print` are handed over.
    """
    order, runs, keys = group_rows(raw_key)
    check_keys(keys, raw_print, "identifier")
    del raw_key, raw_print
    first_row = order[runs.starts]
    codes = rows["identifier_kind"].to_physical().to_numpy()[first_row]
    raw_of_row = np.empty(len(order), dtype=np.uint32)
    raw_of_row[order] = runs.number
    count = runs.count
    del order, runs  # at the stitcher's memory peak: free what is done with
    first_seen, last_seen = seen_range(
        raw_of_row, count, datetime_ints(rows["observed_at"], LATEST)
    )
    raw = pl.DataFrame(
        {
            "kind": pl.Series(KIND.categories).cast(KIND).gather(codes),
            "first_row": first_row,
            "first_seen_at": datetimes(first_seen, LATEST, "first_seen_at"),
            "last_seen_at": datetimes(last_seen, EARLIEST, "last_seen_at"),
        }
    )
    return raw_of_row, raw


def number_nodes(
    raw: pl.DataFrame, previous: pl.DataFrame | None
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray | None]:
    """Nodes: distinct published identifiers that are not blocked, numbered in node order.

    Node order is (kind, 64-bit hash of the value under a fixed seed, value): canonical (it
    depends neither on the input's row order nor on which raw forms were seen) and found by
    one integer sort instead of a sort of millions of strings. Returns the nodes (node, kind,
    value, first_seen_at, last_seen_at), each raw id's node and, with a previous map, each
    node's first_seen_at there (int64 microseconds; LATEST: not in it, or seen without a time).
    """
    usable = (
        raw.with_row_index("raw")
        .filter(pl.col("block_reason").is_null())
        .select("raw", "kind", "value", "first_seen_at", "last_seen_at")
    )
    if previous is not None:
        prior = previous.select(
            pl.lit(None, dtype=pl.UInt32).alias("raw"),
            pl.col("kind").cast(KIND),
            "value",
            "first_seen_at",
            "last_seen_at",
        )
        usable = pl.concat([usable, prior])
    order, runs = node_runs(usable["kind"], usable["value"])
    usable = usable[order]
    first_seen = runs.reduce(np.minimum, datetime_ints(usable["first_seen_at"], LATEST))
    last_seen = runs.reduce(np.maximum, datetime_ints(usable["last_seen_at"], EARLIEST))
    nodes = pl.DataFrame(
        {
            "node": np.arange(runs.count, dtype=np.uint32),
            "kind": usable["kind"].gather(runs.starts),
            "value": usable["value"].gather(runs.starts),
            "first_seen_at": datetimes(first_seen, LATEST, "first_seen_at"),
            "last_seen_at": datetimes(last_seen, EARLIEST, "last_seen_at"),
        }
    )
    node_of_raw = np.full(raw.height, MISSING, dtype=np.uint32)
    from_raw = usable["raw"].is_not_null().to_numpy()
    node_of_raw[usable["raw"].filter(usable["raw"].is_not_null()).to_numpy()] = runs.number[
        from_raw
    ]
    known_since = None
    if previous is not None:  # the previous map's rows are the rows without a raw id
        known_since = group_minimum(
            runs.number[~from_raw],
            datetime_ints(usable["first_seen_at"].filter(~from_raw), LATEST),
            runs.count,
            LATEST,
        )
    return nodes, node_of_raw, known_since


def node_runs(kinds: pl.Series, values: pl.Series) -> tuple[np.ndarray, Runs]:
    """The order putting rows in node order, and the runs of equal (kind, value) in it.

    Rows are grouped by `node_key` (kind code in the top bits, the value's hash below); a
    second, independent hash of each value tells the (rare) groups of different values sharing
    a key, and only those are sorted by value and split.
    """
    key = pl.select(node_key(kinds, values, NODE_SEEDS[0])).to_series()
    order, runs, _ = group_rows(key)
    del key
    prints = values.hash(NODE_SEEDS[1]).to_numpy()[order]
    mixed = prints != prints[runs.starts][runs.number]
    if not mixed.any():
        return order, runs
    # the groups holding two values: ordered by value, a node wherever the value changes
    groups = distinct_values(runs.number[mixed])
    positions = np.flatnonzero(np.isin(runs.number, groups))
    rows = order[positions]
    within = order_by(pl.Series(runs.number[positions]), values.gather(rows), nulls_last=False)
    order[positions] = rows[within]
    ordered = values.gather(order[positions])
    first = np.zeros(len(order), dtype=bool)
    first[runs.starts] = True
    first[positions[1:]] |= ordered.ne_missing(ordered.shift(1)).to_numpy()[1:]
    return order, Runs(np.flatnonzero(first), np.cumsum(first, dtype=np.uint32) - np.uint32(1))
