"""Evidence (contracts §5.2) to integer-encoded graph input.

Strings are touched as little as possible. One streaming pass over the evidence gives each row a
64-bit hash key for its record and for its raw identifier (each checked by a second, independent
hash, so a collision is detected, never silently merged: the caller retries with other seeds).
Rows are then grouped by sorting those keys (columnar.py): identifiers are normalised and guarded
once per distinct raw value, nodes are numbered in (kind, hash of the value) order (a canonical,
input-order-free tie-break), and each record's anchor is found among the rows of its record.
Every later step works on integers; strings come back only when the tables are written.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.identity.columnar import (
    EARLIEST,
    LATEST,
    MISSING,
    Runs,
    datetime_ints,
    datetimes,
    distinct_count,
    distinct_values,
    group_minimum,
    group_rows,
    is_repeated,
    order_by,
    seen_range,
)
from pipelines.identity.hashing import hash_hex
from pipelines.identity.normalise import BLOCK_REASONS, normalise_and_guard
from pipelines.identity.rules import KNOWN_KINDS, IdentityRules
from pipelines.settings import Secret

RECORD = ["source", "stream", "record_id"]
LINK_COLUMNS = ["left_kind", "left_value", "right_kind", "right_value"]
IDENTIFIER = ["identifier_kind", "identifier_value"]
EVIDENCE_SCHEMA = {
    "source": pl.String,
    "stream": pl.String,
    "record_id": pl.String,
    "observed_at": pl.Datetime("us"),
    "rule": pl.String,
    "identifier_kind": pl.String,
    "identifier_value": pl.String,
    "is_anchor": pl.Boolean,
}
MAP_SCHEMA = {
    "identifier_kind": pl.String,
    "identifier_value": pl.String,
    "person_id": pl.String,
    "first_seen_at": pl.Datetime("us"),
    "last_seen_at": pl.Datetime("us"),
}
SAME_CUSTOMER_RULE = "same_customer_id"
ACCOUNT_LINK_KINDS = ("web_user_id", "shop_customer_id")
# kinds as a small Enum in name order, so that sorting by kind is sorting by its name
KIND = pl.Enum(sorted(KNOWN_KINDS))
KIND_BITS = max(1, (len(KNOWN_KINDS) - 1).bit_length())
EDGE_RULE = pl.Enum([SAME_CUSTOMER_RULE])
BLOCK_REASON = pl.Enum(BLOCK_REASONS)
PROVENANCE = ["source", "stream", "rule"]
READ_OFTEN = {"record_key", "observed_at", "record_id", *PROVENANCE}
SEEDS = ((0x1D3A, 0x5EED), (0x2B7F, 0x77AA), (0x3C91, 0x9D01))
# node order: one fixed pair, so that it never depends on the attempt (see _number_nodes)
NODE_SEEDS = (0x4E0D, 0xF1A7)


class EvidenceError(ValueError):
    """The evidence breaks contracts §5.2; the message says what, where and what to do."""


class HashCollision(RuntimeError):
    """Two different keys share a 64-bit hash under this seed pair; retry with other seeds."""


@dataclass
class Prepared:
    """Typed evidence: the lazy source (read again to rehash) and its rows keyed under SEEDS[0]."""

    source: pl.LazyFrame
    rows: pl.DataFrame | None

    def take(self, attempt: int) -> pl.DataFrame:
        """The keyed rows under SEEDS[attempt]; the first call hands over the rows hashed already."""
        if attempt == 0 and self.rows is not None:
            rows, self.rows = self.rows, None
            return rows
        return _keyed_rows(self.source, attempt)


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


def _typed(frame: pl.LazyFrame, schema: pl.Schema) -> pl.LazyFrame:
    observed = pl.col("observed_at")
    observed_type = schema["observed_at"]
    if isinstance(observed_type, pl.Datetime) and observed_type.time_zone is not None:
        observed = observed.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return (
        frame.select(list(EVIDENCE_SCHEMA))
        .with_columns(observed.alias("observed_at"))
        .cast(EVIDENCE_SCHEMA)
    )


def _keyed_rows(source: pl.LazyFrame, attempt: int) -> pl.DataFrame:
    """One streaming pass: per row its hash keys, time, anchor flag and small provenance columns.

    Each key comes with a fingerprint, the key xor a second, independent hash of the same
    columns: two different strings sharing a key show up as more distinct fingerprints than
    keys (`_check`).
    """
    seed, check_seed = SEEDS[attempt]
    rows = (
        source.with_columns(
            _mixed_hash(RECORD, seed).alias("record_key"),
            _mixed_hash(RECORD, check_seed).alias("record_check"),
            _raw_key(seed).alias("raw_key"),
            _mixed_hash(IDENTIFIER, check_seed).alias("raw_check"),
        )
        .select(
            "record_key",
            (pl.col("record_key") ^ pl.col("record_check")).alias("record_print"),
            "raw_key",
            (pl.col("raw_key") ^ pl.col("raw_check")).alias("raw_print"),
            "observed_at",
            "is_anchor",
            pl.col("identifier_kind").cast(KIND, strict=False),
            pl.col(PROVENANCE).cast(pl.Categorical),
            "record_id",
        )
        .collect(engine="streaming")
    )
    # one contiguous buffer for the columns read many times (gathers on many small chunks are
    # several times slower), column by column so that only one column is ever held twice; the
    # provenance columns once they are one byte per row (below)
    rows = pl.DataFrame(
        [
            rows.drop_in_place(name).rechunk()
            if name in READ_OFTEN and name not in PROVENANCE
            else rows.drop_in_place(name)
            for name in list(rows.columns)
        ]
    )
    # sources, streams and rules, kept until the tables are built, as Enums of their values: one
    # byte per row instead of four (the three columns at once, in parallel)
    present = rows.select(pl.col(PROVENANCE).unique().drop_nulls().cast(pl.String).implode())
    rows = rows.with_columns(
        pl.col(name).cast(pl.Enum(sorted(present[name][0].to_list())))  # a handful of values
        for name in PROVENANCE
    )
    return rows.with_columns(rows[name].rechunk() for name in PROVENANCE)


def _raw_key(seed: int) -> pl.Expr:
    """The raw identifier's key (raw ids are numbered by kind with no further sort)."""
    code = pl.col("identifier_kind").cast(KIND, strict=False).to_physical().fill_null(0)
    return _kind_first(code, _mixed_hash(IDENTIFIER, seed))


def _kind_first(code: pl.Expr, hashed: pl.Expr) -> pl.Expr:
    """A 64-bit key: the kind's code in the top bits, a hash in the others, so that sorting the
    keys groups the kinds in kind order."""
    low = hashed // pl.lit(1 << KIND_BITS, dtype=pl.UInt64)
    return low | code.cast(pl.UInt64) * pl.lit(1 << (64 - KIND_BITS), dtype=pl.UInt64)


def prepare_evidence(evidence: pl.DataFrame | pl.LazyFrame, rules: IdentityRules) -> Prepared:
    """Typed evidence with hash keys per row; cheap contract checks (columns, kinds, nulls)."""
    frame = evidence.lazy()
    schema = frame.collect_schema()
    missing = [column for column in EVIDENCE_SCHEMA if column not in schema.names()]
    if missing:
        raise EvidenceError(
            f"identity evidence lacks columns {missing} (contracts §5.2 requires "
            f"{list(EVIDENCE_SCHEMA)}); fix the int_identity_evidence model"
        )
    source = _typed(frame, schema)
    rows = _keyed_rows(source, 0)
    present = rows["identifier_kind"].unique().drop_nulls().cast(pl.String).to_list()
    if rows["identifier_kind"].null_count() or any(kind not in rules.kinds for kind in present):
        _raise_unknown_kinds(source, rules)
    nulls = rows.select(pl.col("source", "stream", "record_id", "is_anchor").null_count()).row(
        0, named=True
    )
    for column, count in nulls.items():
        if count:
            raise EvidenceError(
                f"identity evidence has {count} rows with a null {column}; fix int_identity_evidence"
            )
    return Prepared(source, rows)


def _raise_unknown_kinds(source: pl.LazyFrame, rules: IdentityRules) -> None:
    known = pl.col("identifier_kind").is_in(list(rules.kinds))
    unknown_rows = source.filter(~known | pl.col("identifier_kind").is_null())
    kinds = unknown_rows.select(pl.col("identifier_kind").unique()).collect()["identifier_kind"]
    unknown = sorted(kinds.to_list(), key=lambda kind: (kind is None, kind or ""))
    example = unknown_rows.head(1).collect().row(0, named=True)
    raise EvidenceError(
        f"identity evidence holds unknown identifier kinds {unknown} (e.g. record "
        f"{example['source']}/{example['stream']}/{example['record_id']}); add the kind to "
        f"config/identity.yml or fix int_identity_evidence"
    )


def prepare_previous(previous_map: pl.DataFrame | None) -> pl.DataFrame | None:
    """The previous identity_map, typed and checked, with columns `kind, value, person_id, ...`."""
    if previous_map is None:
        return None
    missing = [column for column in MAP_SCHEMA if column not in previous_map.columns]
    if missing:
        raise EvidenceError(f"previous identity_map lacks columns {missing} (contracts §5.3)")
    previous = _as_utc(
        previous_map.select(list(MAP_SCHEMA)), ["first_seen_at", "last_seen_at"]
    ).cast(MAP_SCHEMA)
    unknown = previous.filter(~pl.col("identifier_kind").is_in(list(KNOWN_KINDS)))
    if unknown.height:
        raise EvidenceError(
            f"previous identity_map holds {unknown.height} rows of unknown identifier kinds "
            f"{sorted(unknown['identifier_kind'].unique().drop_nulls().to_list())}; contracts §5.1 "
            f"lists the kinds"
        )
    doubled = previous.filter(pl.struct("identifier_kind", "identifier_value").is_duplicated())
    if doubled.height:
        raise EvidenceError(
            f"previous identity_map holds {doubled.height} rows for identifiers listed twice, e.g. "
            f"{doubled.head(2).rows()}; it must have one row per identifier"
        )
    return previous.rename({"identifier_kind": "kind", "identifier_value": "value"})


def prepare_previous_links(
    edges: pl.DataFrame | None, rejected: pl.DataFrame | None
) -> pl.DataFrame:
    """The identifier pairs decided before an incremental run, one row per stored edge:
    `left_kind, left_value, right_kind, right_value, reason` (null: accepted); limits.prior_pairs
    makes them one row per node pair.

    `edges` and `rejected` are identity_edges and identity_rejected_edges (contracts §5.3) of
    every run the previous map stands for: they say which links each identifier already had
    and which were refused, which the map alone does not.
    """
    frames = []
    for name, frame in (("identity_edges", edges), ("identity_rejected_edges", rejected)):
        if frame is None:
            raise ValueError(
                f"an incremental run needs the previous {name} (previous_{name[9:]}=...)"
            )
        needed = [*LINK_COLUMNS, *(["reason"] if name == "identity_rejected_edges" else [])]
        missing = [column for column in needed if column not in frame.columns]
        if missing:
            raise EvidenceError(f"previous {name} lacks columns {missing} (contracts §5.3)")
        reason = pl.col("reason") if "reason" in needed else pl.lit(None)
        frames.append(
            frame.select(
                pl.col(LINK_COLUMNS).cast(pl.String), reason.cast(pl.String).alias("reason")
            )
        )
    return pl.concat(frames)


def _as_utc(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Timestamps as UTC without time zone (the contract's convention), from naive or aware input."""
    casts = []
    for column in columns:
        dtype = frame.schema[column]
        expression = pl.col(column)
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            expression = expression.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        casts.append(expression.cast(pl.Datetime("us")))
    return frame.with_columns(casts)


def published_identifiers(
    frame: pl.DataFrame, rules: IdentityRules, key: Secret | None
) -> pl.DataFrame:
    """`kind, raw_value` -> adds `value` (normalised, pseudonymised where configured), `block_reason`.

    Rows keep their order.
    """
    guarded = normalise_and_guard(
        frame.rename({"kind": "identifier_kind", "raw_value": "identifier_value"}), rules
    ).rename({"identifier_kind": "kind", "identifier_value": "value"})
    return publish_values(guarded, rules, key)


def publish_values(frame: pl.DataFrame, rules: IdentityRules, key: Secret | None) -> pl.DataFrame:
    """Replace `value` by its keyed hash for the pseudonymised kinds (no-op without a key)."""
    if key is None or not rules.pseudonymize_kinds:
        return frame
    private = (
        pl.col("kind").cast(pl.String).is_in(list(rules.pseudonymize_kinds))
        & pl.col("value").is_not_null()
    )
    distinct = frame.filter(private).select("value").unique()
    hashed = distinct.with_columns(hash_hex(distinct["value"], key).alias("published"))
    return (
        frame.join(hashed, on="value", how="left", maintain_order="left")
        .with_columns(
            pl.when(private).then(pl.col("published")).otherwise(pl.col("value")).alias("value")
        )
        .drop("published")
    )


def _check(keys: int, prints: pl.Series, what: str) -> None:
    """As many distinct fingerprints as keys, else two different strings share a key."""
    if distinct_count(prints) != keys:
        raise HashCollision(f"{what} keys collide")


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
            _records, rows.select(*RECORD, "record_key", "record_print", "is_anchor")
        )
        # each key and fingerprint column is held only by the step that groups by it, which
        # frees it once grouped (the two groupings are the stitcher's memory peak)
        rows = rows.drop("record_print")
        raw_of_row, raw = _distinct_identifiers(
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
        raw_pairs = pool.submit(_raw_pairs, others, raw_of_row)
        records = others = None
        raw = published_identifiers(raw.drop("first_row"), rules, key).with_columns(
            pl.col("block_reason").cast(BLOCK_REASON)
        )
        lap("encode:normalise_guard_publish")
        nodes, node_of_raw, known_since = _number_nodes(raw, previous)
        raw = raw.select("kind", "value", "block_reason")
        lap("encode:nodes")
        rows = rows.drop("is_anchor")
        lap("encode:anchor_checks")
        # the same_customer_id edges are drawn in the second thread meanwhile
        same_customer = pool.submit(
            lambda: _same_customer_edges(rows, node_of_raw[raw_of_row], nodes, known_since)
        )
        # then each record's anchor node (two gathers over tens of millions of rows)
        anchors = pool.submit(lambda: node_of_raw[raw_of_row[anchor_rows]])
        edges, blocked = _record_edges(rows, raw_pairs.result(), node_of_raw, raw["block_reason"])
        raw_pairs = None
        lap("encode:record_edges")
        edges = _deduplicate(edges)
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


def _distinct_identifiers(
    raw_key: pl.Series, raw_print: pl.Series, rows: pl.DataFrame
) -> tuple[np.ndarray, pl.DataFrame]:
    """Group rows by raw identifier: each row's raw id, and per raw id its kind, first row, times.

    Raw ids are numbered in key order, which is kind order (the kind is the key's top bits), so
    that each kind is one slice of the raw table. `raw_key, raw_print` are handed over.
    """
    order, runs, keys = group_rows(raw_key)
    _check(keys, raw_print, "identifier")
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


def _number_nodes(
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
    order, runs = _node_runs(usable["kind"], usable["value"])
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


def _node_runs(kinds: pl.Series, values: pl.Series) -> tuple[np.ndarray, Runs]:
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


def node_key(kinds: pl.Series, values: pl.Series, seed: int) -> pl.Expr:
    """An identifier's node key: its kind, then the hash of its value (nulls included)."""
    return _kind_first(pl.lit(kinds).to_physical(), pl.lit(values).hash(seed))


@dataclass
class _Others:
    """The non-anchor rows, each with its record (number, in record_key order) and anchor row."""

    rows: np.ndarray
    record: np.ndarray
    anchor_row: np.ndarray


def _records(rows: pl.DataFrame) -> tuple[np.ndarray, _Others]:
    """Group rows by record: each record's anchor row (record_key order), and the other rows.

    Exactly one anchor per record (contracts §5.2), else a clear error.
    """
    order, runs, keys = group_rows(rows["record_key"])
    _check(keys, rows["record_print"], "record")
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
    return anchor_rows, _Others(order[other], record, anchor_rows[record])


def _examples(rows: pl.DataFrame, order: np.ndarray, runs: Runs, bad: np.ndarray) -> list:
    positions = np.flatnonzero(np.isin(runs.number, bad[:3]))
    records = rows.select(pl.col(RECORD).cast(pl.String))[order[positions]]
    return sorted(records.unique().rows())


@dataclass
class _RawPairs:
    """Anchor -> other pairs of different raw identifiers: evidence row, record (number), the two
    raw ids."""

    row: np.ndarray
    record: np.ndarray
    left_raw: np.ndarray
    right_raw: np.ndarray


def _raw_pairs(others: _Others, raw_of_row: np.ndarray) -> _RawPairs:
    """Each non-anchor row paired with its record's anchor, by raw identifier."""
    left_raw = raw_of_row[others.anchor_row]
    right_raw = raw_of_row[others.rows]
    distinct = np.flatnonzero(left_raw != right_raw)
    return _RawPairs(
        row=others.rows[distinct],
        record=others.record[distinct],
        left_raw=left_raw[distinct],
        right_raw=right_raw[distinct],
    )


def _record_edges(
    rows: pl.DataFrame, pairs: _RawPairs, node_of_raw: np.ndarray, block_reasons: pl.Series
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


def _deduplicate(edges: pl.DataFrame) -> pl.DataFrame:
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


def _same_customer_edges(
    rows: pl.DataFrame,
    node_of_row: np.ndarray,
    nodes: pl.DataFrame,
    known_since: np.ndarray | None = None,
) -> pl.DataFrame:
    """Edges `web_user_id` -> `shop_customer_id` of equal value (contract rule `same_customer_id`).

    Provenance: the first record of whichever identifier was observed later, the moment both
    were known. In an incremental run (`known_since`: each node's first sight in the previous
    map, see `_number_nodes`) an identifier seen in an earlier run was first observed then, in
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


MIX = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9)


def _mixed_hash(columns: list[str], seed: int) -> pl.Expr:
    """A 64-bit key over several columns: per-column seeded hashes, mixed by odd multipliers."""
    expression = None
    for position, column in enumerate(columns):
        part = pl.col(column).hash(seed + position) * pl.lit(MIX[position], dtype=pl.UInt64)
        expression = part if expression is None else expression ^ part
    return expression
