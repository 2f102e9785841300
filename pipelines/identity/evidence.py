"""Evidence (contracts §5.2) to integer-encoded graph input.

Strings are touched as little as possible. One streaming pass over the evidence gives each row a
64-bit hash key for its record and for its raw identifier (each checked by a second, independent
hash, so a collision is detected, never silently merged: the caller retries with other seeds).
Rows are then grouped by sorting those keys (columnar.py): identifiers are normalised and guarded
once per distinct raw value, nodes are numbered in (kind, hash of the value) order (a canonical,
input-order-free tie-break), and each record's anchor is found among the rows of its record.
Every later step works on integers; strings come back only when the tables are written.

This module runs the steps (`encode`, two threads); each lives in the module of its
responsibility: contract.py (columns, kinds, `EvidenceError`), reading.py (the inputs read and
checked), keys.py (hash keys and their collision check), published.py (identifier values as
published), nodes.py (raw identifiers and nodes), records.py (anchors and edges).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.identity.contract import PROVENANCE, RECORD
from pipelines.identity.nodes import distinct_identifiers, number_nodes
from pipelines.identity.normalise import BLOCK_REASONS
from pipelines.identity.published import published_identifiers
from pipelines.identity.reading import Prepared
from pipelines.identity.records import (
    anchor_pairs,
    deduplicate,
    group_records,
    record_edges,
    same_customer_edges,
)
from pipelines.identity.rules import IdentityRules
from pipelines.settings import Secret

BLOCK_REASON = pl.Enum(BLOCK_REASONS)


@dataclass
class Encoded:
    """Integer-encoded evidence. Index arrays are uint32 with MISSING for none."""

    nodes: pl.DataFrame  # node, kind, value, first_seen_at, last_seen_at (node order)
    raw: pl.DataFrame  # per raw identifier (its id is its position): kind, value, block_reason
    node_of_raw: np.ndarray  # the node of each raw identifier (MISSING: blocked)
    raw_of_row: np.ndarray  # the raw identifier of each evidence row
    anchor_rows: np.ndarray  # each record's anchor row, in record_key order
    anchor_nodes: np.ndarray  # the node of each record's anchor (MISSING: blocked), aligned
    edges: pl.DataFrame  # row, record_key, observed_at, left_node, right_node, rule
    blocked: pl.DataFrame  # row, record_key, observed_at, left_raw, right_raw, reason
    provenance: pl.DataFrame  # per evidence row: source, stream, rule, record_id

    def node_of_row(self, rows: np.ndarray | None = None) -> np.ndarray:
        return self.node_of_raw[self.raw_of_row if rows is None else self.raw_of_row[rows]]


def encode(
    prepared: Prepared,
    rules: IdentityRules,
    previous: pl.DataFrame | None,
    key: Secret | None,
    attempt: int = 0,
    lap: Callable[[str], None] = lambda step: None,
) -> Encoded:
    """Encode prepared evidence (and, in an incremental run, the previous map's identifiers).

    `lap(step)` is called after each step (timings for the run metrics). The rows prepared are
    handed over (their columns are freed as the steps finish with them).
    """
    rows = prepared.take(attempt)
    lap("encode:keys")
    # records are grouped in a second thread (numpy and Polars release the GIL) while this one
    # groups, normalises and numbers the identifiers: the two need different columns
    with ThreadPoolExecutor(max_workers=1) as pool:
        records = pool.submit(
            group_records, rows.select(*RECORD, "record_key", "record_print", "is_anchor")
        )
        # each key and fingerprint column is held only by the step that groups by it, which
        # frees it once grouped (the two groupings are the stitcher's memory peak)
        rows = rows.drop("record_print")
        raw_of_row, raw = distinct_identifiers(
            rows.drop_in_place("raw_key"), rows.drop_in_place("raw_print"), rows
        )
        rows = rows.drop("identifier_kind")
        lap("encode:distinct_identifiers")
        values = prepared.source.select("identifier_value").collect(engine="streaming").rechunk()
        raw = raw.with_columns(raw_value=values.to_series().gather(raw["first_row"]))
        del values
        # the second thread pairs each record's raw identifiers (anchor -> other) while this
        # one normalises and numbers them; it holds the only reference to the other rows
        anchor_rows, others = records.result()
        raw_pairs = pool.submit(anchor_pairs, others, raw_of_row)
        del records, others
        raw = published_identifiers(raw.drop("first_row"), rules, key).with_columns(
            pl.col("block_reason").cast(BLOCK_REASON)
        )
        lap("encode:normalise_guard_publish")
        nodes, node_of_raw, known_since = number_nodes(raw, previous)
        raw = raw.select("kind", "value", "block_reason")
        lap("encode:nodes")
        rows = rows.drop("is_anchor")
        lap("encode:anchor_checks")
        # the same_customer_id edges are drawn in the second thread meanwhile
        same_customer = pool.submit(
            lambda: same_customer_edges(rows, node_of_raw[raw_of_row], nodes, known_since)
        )
        # then each record's anchor node (two gathers over tens of millions of rows)
        anchors = pool.submit(lambda: node_of_raw[raw_of_row[anchor_rows]])
        edges, blocked = record_edges(rows, raw_pairs.result(), node_of_raw, raw["block_reason"])
        del raw_pairs
        lap("encode:record_edges")
        edges = deduplicate(edges)
        lap("encode:deduplicate")
        edges = pl.concat([edges, same_customer.result()])
        lap("encode:same_customer_id")  # the wait for the second thread
        anchor_nodes = anchors.result()
    return Encoded(
        nodes=nodes,
        raw=raw,
        node_of_raw=node_of_raw,
        raw_of_row=raw_of_row,
        anchor_rows=anchor_rows,
        anchor_nodes=anchor_nodes,
        edges=edges,
        blocked=blocked,
        provenance=rows.select(*PROVENANCE, "record_id"),
    )
