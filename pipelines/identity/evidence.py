"""Evidence (contracts §5.2) to integer-encoded graph input.

Strings are touched as little as possible: each record and each raw identifier gets a 64-bit
hash key (checked by a second, independent hash, so a collision is detected, never silently
merged: the caller retries with other seeds), identifiers are normalised and guarded once per
distinct raw value, and every later step works on integers. Nodes are numbered in
(kind, value) order, so node order is a canonical, input-order-free tie-break.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from pipelines.identity.hashing import hash_hex
from pipelines.identity.normalise import normalise_and_guard
from pipelines.identity.rules import IdentityRules
from pipelines.settings import Secret

RECORD = ["source", "stream", "record_id"]
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
LOW_CARDINALITY = ["source", "stream", "rule", "identifier_kind"]
SEEDS = ((0x1D3A, 0x5EED), (0x2B7F, 0x77AA), (0x3C91, 0x9D01))


class EvidenceError(ValueError):
    """The evidence breaks contracts §5.2; the message says what, where and what to do."""


class HashCollision(RuntimeError):
    """Two different keys share a 64-bit hash under this seed pair; retry with other seeds."""


@dataclass
class Encoded:
    """Integer-encoded evidence; `rows` is aligned with the prepared evidence frame."""

    nodes: pl.DataFrame  # node, kind, value, first_seen_at, last_seen_at (node order)
    raw: pl.DataFrame  # raw_key, kind, value, block_reason, node
    rows: pl.DataFrame  # row, record_key, raw_key, node, is_anchor, observed_at
    edges: pl.DataFrame  # row, record_key, observed_at, left_node, right_node, rule
    blocked: pl.DataFrame  # row, record_key, observed_at, left_raw, right_raw, reason
    anchors: pl.DataFrame  # record_key, row, node


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


def prepare_evidence(evidence: pl.DataFrame | pl.LazyFrame, rules: IdentityRules) -> pl.DataFrame:
    """Typed evidence with a `row` index and hash keys; cheap contract checks (columns, kinds, nulls).

    Built as one lazy plan: the keys are hashed from the strings, then the low-cardinality
    columns become Categorical, so the frame kept for the run is small.
    """
    frame = evidence.lazy()
    schema = frame.collect_schema()
    missing = [column for column in EVIDENCE_SCHEMA if column not in schema.names()]
    if missing:
        raise EvidenceError(
            f"identity evidence lacks columns {missing} (contracts §5.2 requires "
            f"{list(EVIDENCE_SCHEMA)}); fix the int_identity_evidence model"
        )
    observed = pl.col("observed_at")
    observed_type = schema["observed_at"]
    if isinstance(observed_type, pl.Datetime) and observed_type.time_zone is not None:
        observed = observed.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    seed, check_seed = SEEDS[0]
    identifier = ["identifier_kind", "identifier_value"]
    evidence = (
        frame.select(list(EVIDENCE_SCHEMA))
        .with_columns(observed.alias("observed_at"))
        .cast(EVIDENCE_SCHEMA)
        .with_columns(
            _mixed_hash(RECORD, seed).alias("record_key"),
            _mixed_hash(RECORD, check_seed).alias("record_check"),
            _mixed_hash(identifier, seed).alias("raw_key"),
            _mixed_hash(identifier, check_seed).alias("raw_check"),
        )
        .with_columns(pl.col(LOW_CARDINALITY).cast(pl.Categorical))
        .with_row_index("row")
        .collect()
    )
    kinds = evidence.select(pl.col("identifier_kind").cast(pl.String).unique())["identifier_kind"]
    unknown = sorted(kind for kind in kinds.to_list() if kind not in rules.kinds)
    if unknown:
        example = evidence.filter(pl.col("identifier_kind").cast(pl.String).is_in(unknown)).row(
            0, named=True
        )
        raise EvidenceError(
            f"identity evidence holds unknown identifier kinds {unknown} (e.g. record "
            f"{example['source']}/{example['stream']}/{example['record_id']}); add the kind to "
            f"config/identity.yml or fix int_identity_evidence"
        )
    nulls = evidence.select(pl.col("source", "stream", "record_id", "is_anchor").null_count()).row(
        0, named=True
    )
    for column, count in nulls.items():
        if count:
            raise EvidenceError(
                f"identity evidence has {count} rows with a null {column}; fix int_identity_evidence"
            )
    return evidence


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
    doubled = previous.filter(pl.struct("identifier_kind", "identifier_value").is_duplicated())
    if doubled.height:
        raise EvidenceError(
            f"previous identity_map holds {doubled.height} rows for identifiers listed twice, e.g. "
            f"{doubled.head(2).rows()}; it must have one row per identifier"
        )
    return previous.rename({"identifier_kind": "kind", "identifier_value": "value"})


def published_identifiers(
    frame: pl.DataFrame, rules: IdentityRules, key: Secret | None
) -> pl.DataFrame:
    """`kind, raw_value` -> adds `value` (normalised, pseudonymised where configured), `block_reason`."""
    guarded = normalise_and_guard(
        frame.with_columns(
            pl.col("kind").alias("identifier_kind"), pl.col("raw_value").alias("identifier_value")
        ),
        rules,
    ).drop("identifier_kind")
    return publish_values(guarded.rename({"identifier_value": "value"}), rules, key)


def publish_values(frame: pl.DataFrame, rules: IdentityRules, key: Secret | None) -> pl.DataFrame:
    """Replace `value` by its keyed hash for the pseudonymised kinds (no-op without a key)."""
    if key is None or not rules.pseudonymize_kinds:
        return frame
    private = pl.col("kind").is_in(list(rules.pseudonymize_kinds)) & pl.col("value").is_not_null()
    distinct = frame.filter(private).select("value").unique()
    hashed = distinct.with_columns(hash_hex(distinct["value"], key).alias("published"))
    return (
        frame.join(hashed, on="value", how="left", maintain_order="left")
        .with_columns(
            pl.when(private).then(pl.col("published")).otherwise(pl.col("value")).alias("value")
        )
        .drop("published")
    )


def _check_keys(frame: pl.DataFrame, key: str, check: str, what: str) -> None:
    clashes = (
        frame.group_by(key)
        .agg(pl.col(check).n_unique().alias("checks"))
        .filter(pl.col("checks") > 1)
    )
    if clashes.height:
        raise HashCollision(f"{clashes.height} {what} keys collide")


def encode(
    evidence: pl.DataFrame,
    rules: IdentityRules,
    previous: pl.DataFrame | None,
    key: Secret | None,
    attempt: int = 0,
    lap: Callable[[str], None] = lambda step: None,
) -> Encoded:
    """Encode prepared evidence (and, in an incremental run, the previous map's identifiers).

    `lap(step)` is called after each step (timings for the run metrics).
    """
    keyed = evidence.select(
        "row", "observed_at", "is_anchor", "record_key", "record_check", "raw_key", "raw_check"
    )
    if attempt:  # rehash with other seeds, from the strings
        seed, check_seed = SEEDS[attempt]
        strings = evidence.select(
            pl.col([*RECORD, "identifier_kind", "identifier_value"]).cast(pl.String)
        )
        identifier = ["identifier_kind", "identifier_value"]
        keyed = keyed.with_columns(
            strings.select(
                _mixed_hash(RECORD, seed).alias("record_key"),
                _mixed_hash(RECORD, check_seed).alias("record_check"),
                _mixed_hash(identifier, seed).alias("raw_key"),
                _mixed_hash(identifier, check_seed).alias("raw_check"),
            )
        )

    # one row per distinct raw identifier: normalise, guard, publish once
    lap("encode:keys")
    raw = keyed.group_by("raw_key").agg(
        pl.col("row").first(),
        pl.col("raw_check").n_unique().alias("checks"),
        pl.col("observed_at").min().alias("first_seen_at"),
        pl.col("observed_at").max().alias("last_seen_at"),
    )
    if raw.filter(pl.col("checks") > 1).height:
        raise HashCollision("identifier keys collide")
    lap("encode:distinct_identifiers")
    raw = raw.with_columns(
        evidence.select(
            pl.col("identifier_kind").cast(pl.String).alias("kind"),
            pl.col("identifier_value").alias("raw_value"),
        )[raw["row"]]
    )
    raw = published_identifiers(raw.drop("row", "checks"), rules, key)

    # nodes: distinct published identifiers that are not blocked, numbered in (kind, value) order
    lap("encode:normalise_guard_publish")
    usable = raw.filter(pl.col("block_reason").is_null()).select(
        "raw_key", "kind", "value", "first_seen_at", "last_seen_at"
    )
    if previous is not None:
        prior = previous.select(
            pl.lit(None, dtype=pl.UInt64).alias("raw_key"),
            "kind",
            "value",
            "first_seen_at",
            "last_seen_at",
        )
        usable = pl.concat([usable, prior])
    # one sort numbers the nodes: a new node wherever (kind, value) changes
    changed = (pl.col("kind") != pl.col("kind").shift(1)) | (
        pl.col("value") != pl.col("value").shift(1)
    )
    usable = usable.sort("kind", "value").with_columns(is_first=changed.fill_null(True))
    usable = usable.with_columns(node=(pl.col("is_first").cum_sum() - 1).cast(pl.UInt32))
    seen_at = usable.group_by("node").agg(
        pl.col("first_seen_at").min(), pl.col("last_seen_at").max()
    )
    nodes = (
        usable.filter(pl.col("is_first"))
        .select("node", "kind", "value")
        .join(seen_at, on="node", how="left", maintain_order="left")
    )
    raw = raw.join(
        usable.filter(pl.col("raw_key").is_not_null()).select("raw_key", "node"),
        on="raw_key",
        how="left",
    ).select("raw_key", "kind", "value", "block_reason", "node")

    lap("encode:nodes")
    rows = keyed.join(
        raw.select("raw_key", "node"), on="raw_key", how="left", maintain_order="left"
    )
    del keyed  # free memory as soon as a frame is done with (these frames are large)
    lap("encode:rows_to_nodes")
    anchors = rows.filter(pl.col("is_anchor")).select(
        "record_key", "record_check", "row", "node", "raw_key"
    )
    doubled = anchors.group_by("record_key").agg(
        pl.len().alias("anchors"), pl.col("record_check").n_unique().alias("checks")
    )
    if doubled.filter(pl.col("checks") > 1).height:
        raise HashCollision("record keys collide")
    doubled = doubled.filter(pl.col("anchors") > 1)
    if doubled.height:
        example = anchors.join(doubled.head(3), on="record_key")["row"]
        raise EvidenceError(
            f"{doubled.height} records carry more than one anchor identifier, e.g. "
            f"{evidence[example].select(RECORD).unique().rows()}; contracts §5.2 allows exactly one per record"
        )
    lap("encode:anchor_checks")
    others = rows.filter(~pl.col("is_anchor")).select(
        "row",
        "record_key",
        "record_check",
        "observed_at",
        pl.col("node").alias("right_node"),
        pl.col("raw_key").alias("right_raw"),
    )
    joined = others.join(
        anchors.select(
            "record_key",
            pl.col("record_check").alias("anchor_check"),
            pl.col("node").alias("left_node"),
            pl.col("raw_key").alias("left_raw"),
        ),
        on="record_key",
        how="left",
    )
    orphans = joined.filter(pl.col("anchor_check").is_null())
    if orphans.height:
        examples = evidence[orphans["row"].head(3)].select(RECORD).unique().rows()
        raise EvidenceError(
            f"{orphans.select('record_key').n_unique()} records carry identifiers but no anchor, e.g. "
            f"{examples}; contracts §5.2 requires exactly one per record"
        )
    if joined.filter(pl.col("anchor_check") != pl.col("record_check")).height:
        raise HashCollision("record keys collide")
    joined = joined.filter(pl.col("left_raw") != pl.col("right_raw")).drop(
        "record_check", "anchor_check"
    )
    del others
    lap("encode:record_edges")
    is_blocked = pl.col("left_node").is_null() | pl.col("right_node").is_null()
    reasons = raw.select("raw_key", "block_reason")
    blocked = (
        joined.filter(is_blocked)
        .join(
            reasons.rename({"raw_key": "left_raw", "block_reason": "left_reason"}),
            on="left_raw",
            how="left",
        )
        .join(
            reasons.rename({"raw_key": "right_raw", "block_reason": "right_reason"}),
            on="right_raw",
            how="left",
        )
        .select(
            "row",
            "record_key",
            "observed_at",
            "left_raw",
            "right_raw",
            reason=pl.coalesce("left_reason", "right_reason"),
        )
    )
    edges = (
        joined.filter(~is_blocked & (pl.col("left_node") != pl.col("right_node")))
        .select("row", "record_key", "observed_at", "left_node", "right_node")
        .with_columns(rule=pl.lit(None, dtype=pl.String))
    )
    lap("encode:blocked")
    edges = _deduplicate(edges)
    del joined
    lap("encode:deduplicate")
    edges = pl.concat([edges, _same_customer_edges(rows, nodes)])
    lap("encode:same_customer_id")
    return Encoded(
        nodes=nodes,
        raw=raw,
        rows=rows.select("row", "record_key", "raw_key", "node", "is_anchor", "observed_at"),
        edges=edges,
        blocked=blocked,
        anchors=anchors.select("record_key", "row", "node"),
    )


MIX = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9)


def _mixed_hash(columns: list[str], seed: int) -> pl.Expr:
    """A 64-bit key over several columns: per-column seeded hashes, mixed by odd multipliers."""
    expression = None
    for position, column in enumerate(columns):
        part = pl.col(column).hash(seed + position) * pl.lit(MIX[position], dtype=pl.UInt64)
        expression = part if expression is None else expression ^ part
    return expression


def _deduplicate(edges: pl.DataFrame) -> pl.DataFrame:
    """One edge per (record, left, right): two raw forms of one identifier in a record give one link.

    Only the (rare) duplicated rows are sorted, so the choice (earliest, then lowest row key)
    is deterministic without sorting everything.
    """
    duplicated = pl.struct("record_key", "left_node", "right_node").is_duplicated()
    flagged = edges.with_columns(duplicated.alias("duplicated"))
    single = flagged.filter(~pl.col("duplicated"))
    repeats = (
        flagged.filter(pl.col("duplicated"))
        .sort("record_key", "left_node", "right_node", "observed_at", "row")
        .unique(subset=["record_key", "left_node", "right_node"], keep="first", maintain_order=True)
    )
    return pl.concat([single, repeats]).drop("duplicated")


def _same_customer_edges(rows: pl.DataFrame, nodes: pl.DataFrame) -> pl.DataFrame:
    """Edges `web_user_id` -> `shop_customer_id` of equal value (contract rule `same_customer_id`).

    Provenance: the first record of whichever identifier was observed later, the moment both
    were known.
    """
    accounts = nodes.filter(pl.col("kind").is_in(["web_user_id", "shop_customer_id"])).select(
        "node", "kind", "value"
    )
    first = (
        rows.join(accounts.select("node"), on="node", how="semi")
        .sort("node", "observed_at", "record_key", nulls_last=True)
        .unique(subset="node", keep="first", maintain_order=True)
        .select("node", "row", "record_key", "observed_at")
    )
    first = accounts.join(first, on="node", how="left")
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

    return pairs.select(
        later("row").alias("row"),
        later("record_key").alias("record_key"),
        later("observed_at").alias("observed_at"),
        pl.col("node").alias("left_node"),
        pl.col("node_right").alias("right_node"),
        pl.lit(SAME_CUSTOMER_RULE).alias("rule"),
    )
