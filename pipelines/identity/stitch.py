"""Identity stitching: evidence (contracts §5.2) -> identity tables (contracts §5.3).

Steps, all columnar (Polars for wrangling, numpy/scipy for the graph):
1. normalise and guard each distinct raw identifier (normalise.py); pseudonymise configured
   kinds when a key is given, so every table and the previous map use the published form;
2. encode identifiers as integers; draw edges inside each record from its anchor to each other
   identifier, plus `same_customer_id`; edges touching a blocked identifier are rejected;
3. collapse edges to identifier pairs, ranked by earliest evidence (observed_at, source, stream,
   record_id, then the identifiers), and apply the per-identifier degree limits;
4. apply one-account-per-person across chains (graph.account_cut), then connected components;
5. assign stable person ids against the previous map (ids.py), apply erasures, build outputs.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.identity.graph import account_cut, component_labels
from pipelines.identity.hashing import hash_hex
from pipelines.identity.ids import assign_person_ids
from pipelines.identity.normalise import guard_expression, normalise_expression
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
EDGE_COLUMNS = [
    "left_kind",
    "left_value",
    "right_kind",
    "right_value",
    "source",
    "stream",
    "record_id",
    "observed_at",
    "rule",
]
SAME_CUSTOMER_RULE = "same_customer_id"
ACCOUNT_REASON = "one_account_per_person"
TABLES = (
    "identity_map",
    "identity_record_persons",
    "identity_edges",
    "identity_rejected_edges",
    "identity_merges",
    "identity_splits",
    "identity_suppressed_records",
)


class EvidenceError(ValueError):
    """The evidence breaks contracts §5.2; the message says what, where and what to do."""


@dataclass
class StitchResult:
    tables: dict[str, pl.DataFrame]
    metrics: dict[str, int | float] = field(default_factory=dict)


class _Timer:
    """Wall time per step, reported in the run metrics as `seconds[step]`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[f"seconds[{step}]"] = round(now - self._last, 3)
        self._last = now


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


def _validate_evidence(evidence: pl.DataFrame, rules: IdentityRules) -> pl.DataFrame:
    missing = [column for column in EVIDENCE_SCHEMA if column not in evidence.columns]
    if missing:
        raise EvidenceError(
            f"identity evidence lacks columns {missing} (contracts §5.2 requires "
            f"{list(EVIDENCE_SCHEMA)}); fix the int_identity_evidence model"
        )
    evidence = _as_utc(evidence.select(list(EVIDENCE_SCHEMA)), ["observed_at"]).cast(
        EVIDENCE_SCHEMA
    )
    unknown = evidence.filter(~pl.col("identifier_kind").is_in(list(rules.kinds)))
    if unknown.height:
        kinds = sorted(unknown["identifier_kind"].unique().drop_nulls().to_list())
        raise EvidenceError(
            f"identity evidence holds {unknown.height} rows of unknown identifier kinds {kinds} "
            f"(e.g. record {unknown.row(0, named=True)['record_id']!r}); add the kind to "
            f"config/identity.yml or fix int_identity_evidence"
        )
    for column in ["source", "stream", "record_id", "is_anchor"]:
        nulls = evidence[column].null_count()
        if nulls:
            raise EvidenceError(
                f"identity evidence has {nulls} rows with a null {column}; fix int_identity_evidence"
            )
    anchors = evidence.filter(pl.col("is_anchor")).group_by(RECORD).len()
    doubled = anchors.filter(pl.col("len") > 1)
    if doubled.height:
        raise EvidenceError(
            f"{doubled.height} records carry more than one anchor identifier, e.g. "
            f"{doubled.select(RECORD).head(3).rows()}; contracts §5.2 allows exactly one per record"
        )
    orphans = evidence.join(anchors, on=RECORD, how="anti").select(RECORD).unique()
    if orphans.height:
        raise EvidenceError(
            f"{orphans.height} records carry identifiers but no anchor, e.g. "
            f"{orphans.sort(RECORD).head(3).rows()}; contracts §5.2 requires exactly one per record"
        )
    return evidence


def _prepare_previous(previous_map: pl.DataFrame | None) -> pl.DataFrame | None:
    if previous_map is None:
        return None
    missing = [column for column in MAP_SCHEMA if column not in previous_map.columns]
    if missing:
        raise EvidenceError(f"previous identity_map lacks columns {missing} (contracts §5.3)")
    previous = _as_utc(previous_map.select(list(MAP_SCHEMA)), ["first_seen_at", "last_seen_at"])
    previous = previous.cast(MAP_SCHEMA)
    doubled = previous.filter(pl.struct("identifier_kind", "identifier_value").is_duplicated())
    if doubled.height:
        raise EvidenceError(
            f"previous identity_map holds {doubled.height} rows for identifiers listed twice, e.g. "
            f"{doubled.head(2).rows()}; it must have one row per identifier"
        )
    return previous.rename({"identifier_kind": "kind", "identifier_value": "value"})


def _identifiers(raw: pl.DataFrame, rules: IdentityRules, key: Secret | None) -> pl.DataFrame:
    """`kind, raw_value, value, block_reason` for each distinct raw identifier.

    `value` is normalised and, for the configured kinds when a key is given, pseudonymised.
    """
    frame = raw.select(
        pl.col("identifier_kind").alias("kind"),
        pl.col("identifier_value").alias("raw_value"),
        pl.col("identifier_kind"),
        normalise_expression(rules).alias("identifier_value"),
    )
    frame = frame.with_columns(guard_expression(rules).alias("block_reason")).select(
        "kind", "raw_value", pl.col("identifier_value").alias("value"), "block_reason"
    )
    return publish_values(frame, rules, key)


def publish_values(frame: pl.DataFrame, rules: IdentityRules, key: Secret | None) -> pl.DataFrame:
    """Replace `value` by its keyed hash for the pseudonymised kinds (no-op without a key)."""
    if key is None or not rules.pseudonymize_kinds:
        return frame
    private = pl.col("kind").is_in(list(rules.pseudonymize_kinds)) & pl.col("value").is_not_null()
    distinct = frame.filter(private).select("value").unique()
    hashed = distinct.with_columns(hash_hex(distinct["value"], key).alias("published"))
    return (
        frame.join(hashed, on="value", how="left")
        .with_columns(
            pl.when(private).then(pl.col("published")).otherwise(pl.col("value")).alias("value")
        )
        .drop("published")
    )


def _node_table(identifiers: pl.DataFrame, previous: pl.DataFrame | None) -> pl.DataFrame:
    keys = [identifiers.filter(pl.col("block_reason").is_null()).select("kind", "value")]
    if previous is not None:
        keys.append(previous.select("kind", "value"))
    return pl.concat(keys).unique().sort("kind", "value").with_row_index("node")


def _same_customer_edges(evidence: pl.DataFrame, nodes: pl.DataFrame) -> pl.DataFrame:
    """Edges `web_user_id` -> `shop_customer_id` of equal value (contract rule `same_customer_id`).

    Provenance: the first record of whichever identifier was observed later, the moment both
    were known.
    """
    first = (
        evidence.filter(
            pl.col("kind").is_in(["web_user_id", "shop_customer_id"]) & pl.col("node").is_not_null()
        )
        .sort(["observed_at", *RECORD], nulls_last=True)
        .unique(subset="node", keep="first", maintain_order=True)
        .select("node", "kind", "value", "observed_at", *RECORD)
    )
    account_nodes = nodes.filter(pl.col("kind").is_in(["web_user_id", "shop_customer_id"]))
    first = account_nodes.join(first.drop("kind", "value"), on="node", how="left")
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
                & (
                    pl.concat_str(RECORD, separator="\x1f")
                    > pl.concat_str([f"{c}_right" for c in RECORD], separator="\x1f")
                )
            )
        )
    )
    return pairs.select(
        *[
            pl.when(user_later).then(pl.col(c)).otherwise(pl.col(f"{c}_right")).alias(c)
            for c in RECORD
        ],
        pl.when(user_later)
        .then(pl.col("observed_at"))
        .otherwise(pl.col("observed_at_right"))
        .alias("observed_at"),
        pl.lit(SAME_CUSTOMER_RULE).alias("rule"),
        pl.col("node").alias("left_node"),
        pl.col("node_right").alias("right_node"),
    )


def _degree_limit_rejections(
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
    info = node_info.select("node", "kind", "previous_person_id")
    oriented = pl.concat(
        [
            pairs.select("rank", pl.col("low").alias("node"), pl.col("high").alias("linked")),
            pairs.select("rank", pl.col("high").alias("node"), pl.col("low").alias("linked")),
        ]
    )
    oriented = (
        oriented.join(
            info.rename({"kind": "node_kind", "previous_person_id": "node_person"}), on="node"
        )
        .join(
            info.rename(
                {"node": "linked", "kind": "linked_kind", "previous_person_id": "linked_person"}
            ),
            on="linked",
        )
        .join(limits, on=["node_kind", "linked_kind"])
    )
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


def _frozen_edges(node_info: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Star edges joining each previous person's identifiers (incremental runs)."""
    members = node_info.filter(pl.col("previous_person_id").is_not_null()).select(
        "node", "previous_person_id"
    )
    centre = members.group_by("previous_person_id").agg(pl.col("node").min().alias("centre"))
    star = members.join(centre, on="previous_person_id").filter(pl.col("node") != pl.col("centre"))
    star = star.sort("centre", "node")
    return star["centre"].to_numpy().astype(np.int64), star["node"].to_numpy().astype(np.int64)


def stitch(
    evidence: pl.LazyFrame | pl.DataFrame,
    *,
    rules: IdentityRules,
    run_id: str,
    run_at: datetime,
    previous_map: pl.DataFrame | None = None,
    erasures: pl.DataFrame | None = None,
    pseudonymize_key: Secret | None = None,
    incremental: bool = False,
) -> StitchResult:
    """Stitch identifiers into persons (contracts §5).

    `previous_map` (last run's identity_map) keeps person ids stable. With `incremental=True`
    the evidence holds only new records and the previous map's persons are kept as links, so
    the partition equals a full rebuild (see README "Incremental runs" for the exact terms).
    `erasures` (`identifier_kind, identifier_value, requested_at`) removes whole persons.
    `pseudonymize_key` replaces the values of `rules.pseudonymize_kinds` by keyed HMAC-SHA256.
    """
    timer = _Timer()
    if isinstance(evidence, pl.LazyFrame):
        evidence = evidence.collect()
    timer.lap("collect")
    evidence = _validate_evidence(evidence, rules)
    previous = _prepare_previous(previous_map)
    if incremental and previous is None:
        raise ValueError("an incremental run needs the previous identity_map (previous_map=...)")
    run_at = (
        run_at.replace(tzinfo=None)
        if run_at.tzinfo is None
        else run_at.astimezone(UTC).replace(tzinfo=None)
    )

    # 1. identifiers: normalise, guard, publish; integer node per non-blocked identifier.
    identifiers = _identifiers(
        evidence.select("identifier_kind", "identifier_value").unique(), rules, pseudonymize_key
    )
    node_keys = _node_table(identifiers, previous if incremental else None)
    identifiers = identifiers.join(node_keys, on=["kind", "value"], how="left")
    timer.lap("validate_and_identifiers")
    rows = evidence.join(
        identifiers,
        left_on=["identifier_kind", "identifier_value"],
        right_on=["kind", "raw_value"],
        how="left",
        nulls_equal=True,
    ).select(
        *RECORD,
        "observed_at",
        "rule",
        pl.col("identifier_kind").alias("kind"),
        "value",
        "block_reason",
        "node",
        "is_anchor",
    )

    timer.lap("identifier_nodes")
    node_info = _node_info(rows, node_keys, previous, incremental)

    timer.lap("rows")
    # 2. edges inside each record: anchor -> every other identifier, plus same_customer_id.
    anchors = rows.filter(pl.col("is_anchor")).select(
        *RECORD,
        pl.col("kind").alias("left_kind"),
        pl.col("value").alias("left_value"),
        pl.col("block_reason").alias("left_block"),
        pl.col("node").alias("left_node"),
    )
    edges = (
        rows.filter(~pl.col("is_anchor"))
        .select(
            *RECORD,
            "observed_at",
            "rule",
            pl.col("kind").alias("right_kind"),
            pl.col("value").alias("right_value"),
            pl.col("block_reason").alias("right_block"),
            pl.col("node").alias("right_node"),
        )
        .join(anchors, on=RECORD)
        .filter(
            ~(
                (pl.col("left_kind") == pl.col("right_kind"))
                & pl.col("left_value").eq_missing(pl.col("right_value"))
            )
        )
    )
    block = pl.coalesce("left_block", "right_block")
    blocked = edges.filter(block.is_not_null()).with_columns(block.alias("reason"))
    edges = edges.filter(block.is_null()).drop("left_block", "right_block")
    same_customer = _same_customer_edges(rows, node_keys)
    kind_value = node_keys.select("node", "kind", "value")
    same_customer = same_customer.join(
        kind_value.rename({"node": "left_node", "kind": "left_kind", "value": "left_value"}),
        on="left_node",
    ).join(
        kind_value.rename({"node": "right_node", "kind": "right_kind", "value": "right_value"}),
        on="right_node",
    )
    edges = pl.concat([edges, same_customer.select(edges.columns)])

    timer.lap("node_info")
    # 3. pairs ranked by earliest evidence; per-identifier degree limits.
    edges = (
        edges.with_columns(
            low=pl.min_horizontal("left_node", "right_node"),
            high=pl.max_horizontal("left_node", "right_node"),
        )
        .sort(["observed_at", *RECORD, "left_node", "right_node", "rule"], nulls_last=True)
        .unique(subset=[*RECORD, "left_node", "right_node"], keep="first", maintain_order=True)
    )
    pairs = edges.unique(subset=["low", "high"], keep="first", maintain_order=True).with_row_index(
        "rank"
    )
    timer.lap("edges")
    limit_rejected = _degree_limit_rejections(pairs, node_info, rules, incremental)
    pairs = pairs.join(limit_rejected, on="rank", how="left").sort("rank")

    timer.lap("rank_pairs_and_limits")
    # 4. one account per person across chains, then connected components.
    open_pairs = pairs.filter(pl.col("reason").is_null())
    frozen_left, frozen_right = _frozen_edges(node_info) if incremental else (None, None)
    account = _account_keys(node_info, rules)
    keep, frozen_keep = account_cut(
        node_keys.height,
        open_pairs["low"].to_numpy().astype(np.int64),
        open_pairs["high"].to_numpy().astype(np.int64),
        account,
        frozen_left,
        frozen_right,
    )
    cut_ranks = open_pairs.filter(~pl.Series(keep)).select("rank", reason=pl.lit(ACCOUNT_REASON))
    pairs = pairs.with_columns(
        reason=pl.coalesce(
            pl.col("reason"),
            pl.col("rank").replace_strict(cut_ranks["rank"], cut_ranks["reason"], default=None),
        )
    )
    accepted = pairs.filter(pl.col("reason").is_null())
    link_left = accepted["low"].to_numpy().astype(np.int64)
    link_right = accepted["high"].to_numpy().astype(np.int64)
    if frozen_left is not None:
        link_left = np.concatenate([link_left, frozen_left[frozen_keep]])
        link_right = np.concatenate([link_right, frozen_right[frozen_keep]])
    labels = component_labels(node_keys.height, link_left, link_right)
    node_info = node_info.join(
        pl.DataFrame({"node": np.arange(node_keys.height, dtype=np.uint32), "cluster": labels}),
        on="node",
    )

    timer.lap("account_cut_and_components")
    # 5. erasures, stable ids, outputs.
    erased_nodes, erased_keys = _erased(node_info, identifiers, erasures, rules, pseudonymize_key)
    kept_nodes = node_info.join(erased_nodes, on="node", how="anti")
    cluster_ids, merges, splits = assign_person_ids(kept_nodes, previous, pseudonymize_key)
    person_of_node = kept_nodes.join(cluster_ids, on="cluster").select(
        "node", "cluster", "person_id"
    )

    timer.lap("erasures_and_person_ids")
    edge_status = edges.join(pairs.select("low", "high", "rank", "reason"), on=["low", "high"])
    erased_node_list = erased_nodes["node"].implode()
    touches_erased = pl.col("left_node").is_in(erased_node_list) | pl.col("right_node").is_in(
        erased_node_list
    )
    identity_edges = (
        edge_status.filter(pl.col("reason").is_null() & ~touches_erased)
        .sort("observed_at", *RECORD, "left_node", "right_node", nulls_last=True)
        .select(EDGE_COLUMNS)
    )
    rejected = pl.concat(
        [
            edge_status.filter(pl.col("reason").is_not_null() & ~touches_erased).select(
                *EDGE_COLUMNS, "reason"
            ),
            _drop_erased_values(blocked, erased_keys).select(*EDGE_COLUMNS, "reason"),
        ]
    ).sort(
        ["observed_at", *RECORD, "left_kind", "left_value", "right_kind", "right_value"],
        nulls_last=True,
    )

    identity_map = (
        kept_nodes.join(person_of_node, on=["node", "cluster"])
        .select(
            pl.col("kind").alias("identifier_kind"),
            pl.col("value").alias("identifier_value"),
            "person_id",
            "first_seen_at",
            "last_seen_at",
        )
        .sort("identifier_kind", "identifier_value")
    )
    record_persons = (
        anchors.join(person_of_node, left_on="left_node", right_on="node")
        .select(*RECORD, "person_id")
        .unique(subset=RECORD)
        .sort(RECORD)
    )
    merge_rows = _merge_rows(merges, accepted, kept_nodes, run_id, run_at)
    split_rows = splits.select(
        pl.lit(run_id).alias("run_id"),
        pl.lit(run_at).alias("split_at"),
        "previous_person_id",
        "person_id",
    )
    suppressed = (
        rows.join(erased_keys, on=["kind", "value"], how="semi")
        .select(RECORD)
        .unique()
        .sort(RECORD)
    )
    tables = {
        "identity_map": identity_map,
        "identity_record_persons": record_persons,
        "identity_edges": identity_edges,
        "identity_rejected_edges": rejected,
        "identity_merges": merge_rows,
        "identity_splits": split_rows,
        "identity_suppressed_records": suppressed,
    }
    timer.lap("outputs")
    metrics = _metrics(tables, rules, rows, erased_nodes)
    timer.lap("metrics")
    metrics.update(timer.seconds)
    return StitchResult(tables=tables, metrics=metrics)


def _node_info(
    rows: pl.DataFrame, node_keys: pl.DataFrame, previous: pl.DataFrame | None, incremental: bool
) -> pl.DataFrame:
    """Per node: kind, value, first/last seen, and the previous person (when a map is given)."""
    seen = (
        rows.filter(pl.col("node").is_not_null())
        .group_by("node")
        .agg(
            pl.col("observed_at").min().alias("first_seen_at"),
            pl.col("observed_at").max().alias("last_seen_at"),
        )
    )
    info = node_keys.join(seen, on="node", how="left", maintain_order="left")
    if previous is None:
        return info.with_columns(
            previous_person_id=pl.lit(None, dtype=pl.String),
            previous_first_seen_at=pl.lit(None, dtype=pl.Datetime("us")),
        )
    person_first = previous.group_by("person_id").agg(
        pl.col("first_seen_at").min().alias("previous_first_seen_at")
    )
    prior = previous.join(person_first, on="person_id").select(
        "kind",
        "value",
        pl.col("person_id").alias("previous_person_id"),
        "previous_first_seen_at",
        pl.col("first_seen_at").alias("prior_first"),
        pl.col("last_seen_at").alias("prior_last"),
    )
    info = info.join(prior, on=["kind", "value"], how="left", maintain_order="left")
    if incremental:
        info = info.with_columns(
            first_seen_at=pl.min_horizontal("first_seen_at", "prior_first"),
            last_seen_at=pl.max_horizontal("last_seen_at", "prior_last"),
        )
    return info.drop("prior_first", "prior_last")


def _account_keys(node_info: pl.DataFrame, rules: IdentityRules) -> np.ndarray:
    """Account key per node (equal values across the account kinds share a key), else -1."""
    is_account = pl.col("kind").is_in(list(rules.account_kinds))
    account_value = pl.when(is_account).then(pl.col("value"))
    keys = node_info.select(
        "node", account=account_value.rank("dense").fill_null(0).cast(pl.Int64) - 1
    )
    account = np.full(node_info.height, -1, dtype=np.int64)
    account[keys["node"].to_numpy()] = keys["account"].to_numpy()
    return account


def _erased(
    node_info: pl.DataFrame,
    identifiers: pl.DataFrame,
    erasures: pl.DataFrame | None,
    rules: IdentityRules,
    key: Secret | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Nodes of erased persons, and every (kind, value) to keep out of the outputs."""
    empty_keys = pl.DataFrame(schema={"kind": pl.String, "value": pl.String})
    if erasures is None or erasures.is_empty():
        return pl.DataFrame(schema={"node": pl.UInt32}), empty_keys
    missing = [c for c in ("identifier_kind", "identifier_value") if c not in erasures.columns]
    if missing:
        raise EvidenceError(
            f"erasure list lacks columns {missing}; expected identifier_kind, identifier_value, requested_at"
        )
    requested = erasures.select(
        pl.col("identifier_kind").cast(pl.String), pl.col("identifier_value").cast(pl.String)
    )
    unknown = requested.filter(~pl.col("identifier_kind").is_in(list(rules.kinds)))
    if unknown.height:
        raise EvidenceError(
            f"erasure list names unknown identifier kinds {sorted(unknown['identifier_kind'].unique().to_list())}; "
            f"use one of {list(rules.kinds)}"
        )
    requested_keys = _identifiers(requested, rules, key).select("kind", "value").unique()
    seeds = node_info.join(requested_keys, on=["kind", "value"], how="semi")
    erased_nodes = node_info.join(seeds.select("cluster").unique(), on="cluster", how="semi")
    keys = pl.concat([requested_keys, erased_nodes.select("kind", "value")]).unique()
    return erased_nodes.select("node"), keys


def _drop_erased_values(frame: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    if keys.is_empty():
        return frame
    for side in ("left", "right"):
        frame = frame.join(
            keys.rename({"kind": f"{side}_kind", "value": f"{side}_value"}),
            on=[f"{side}_kind", f"{side}_value"],
            how="anti",
            nulls_equal=True,
        )
    return frame


def _merge_rows(
    merges: pl.DataFrame, accepted: pl.DataFrame, nodes: pl.DataFrame, run_id: str, run_at: datetime
) -> pl.DataFrame:
    """One row per retired person, with the earliest accepted edge linking it to the rest."""
    columns = [
        pl.lit(run_id).alias("run_id"),
        pl.lit(run_at, dtype=pl.Datetime("us")).alias("merged_at"),
        "surviving_person_id",
        "retired_person_id",
        *RECORD,
        "rule",
        "left_kind",
        "left_value",
        "right_kind",
        "right_value",
    ]
    if merges.is_empty():
        return merges.with_columns(
            *[
                pl.lit(None, dtype=pl.String).alias(c)
                for c in [*RECORD, "rule", "left_kind", "left_value", "right_kind", "right_value"]
            ]
        ).select(columns)
    person = nodes.select("node", "previous_person_id")
    crossing = (
        accepted.join(person.rename({"node": "low", "previous_person_id": "low_person"}), on="low")
        .join(person.rename({"node": "high", "previous_person_id": "high_person"}), on="high")
        .filter(pl.col("low_person").ne_missing(pl.col("high_person")))
    )
    sides = pl.concat(
        [
            crossing.with_columns(retired_person_id=pl.col("low_person")),
            crossing.with_columns(retired_person_id=pl.col("high_person")),
        ]
    ).filter(pl.col("retired_person_id").is_not_null())
    cause = (
        sides.join(merges.select("retired_person_id"), on="retired_person_id", how="semi")
        .sort("rank")
        .unique(subset="retired_person_id", keep="first", maintain_order=True)
    )
    return (
        merges.join(cause, on="retired_person_id", how="left")
        .select(columns)
        .sort("surviving_person_id", "retired_person_id")
    )


def _metrics(
    tables: dict[str, pl.DataFrame],
    rules: IdentityRules,
    rows: pl.DataFrame,
    erased_nodes: pl.DataFrame,
) -> dict[str, int | float]:
    identity_map = tables["identity_map"]
    sizes = identity_map.group_by("person_id").len()
    anonymous = pl.col("identifier_kind").is_in(list(rules.anonymous_kinds))
    linked_persons = identity_map.filter(~anonymous).select("person_id").unique()
    anonymous_ids = identity_map.filter(anonymous)
    never_linked = anonymous_ids.join(linked_persons, on="person_id", how="anti").height
    anchors = rows.filter(pl.col("is_anchor"))
    metrics: dict[str, int | float] = {
        "persons": sizes.height,
        "identifiers": identity_map.height,
        "largest_cluster": int(sizes["len"].max() or 0),
        "merges": tables["identity_merges"].height,
        "splits": tables["identity_splits"]["previous_person_id"].n_unique(),
        "anonymous_never_linked_share": round(never_linked / anonymous_ids.height, 6)
        if anonymous_ids.height
        else 0.0,
        "records": anchors.height,
        "records_with_blocked_anchor": anchors.filter(pl.col("block_reason").is_not_null()).height,
        "identifiers_blocked": rows.filter(pl.col("block_reason").is_not_null())
        .select("kind", "value")
        .unique()
        .height,
        "erased_identifiers": erased_nodes.height,
        "suppressed_records": tables["identity_suppressed_records"].height,
        "edges_accepted": tables["identity_edges"].height,
        "edges_rejected": tables["identity_rejected_edges"].height,
    }
    by_reason = tables["identity_rejected_edges"].group_by("reason").len().sort("reason")
    for reason, count in by_reason.iter_rows():
        metrics[f"edges_rejected[{reason}]"] = count
    return metrics


def write_tables(result: StitchResult, out_dir: Path) -> dict[str, Path]:
    """Write each table as `<out_dir>/<table>.parquet`, atomically (temp file, then rename)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, frame in result.tables.items():
        target = out_dir / f"{name}.parquet"
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{name}.", suffix=".parquet.tmp", dir=out_dir
        )
        os.close(descriptor)
        try:
            frame.write_parquet(temporary)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        paths[name] = target
    return paths
