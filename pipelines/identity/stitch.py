"""Identity stitching: evidence (contracts §5.2) -> identity tables (contracts §5.3).

Steps, all columnar (Polars for the wrangling, numpy/scipy for the graph):
1. encode (evidence.py): hash keys per record and raw identifier, normalise / guard /
   pseudonymise each distinct raw identifier once, number the nodes, draw the edges inside each
   record (anchor -> every other identifier) plus `same_customer_id`; blocked ends are rejected;
2. rank identifier pairs by earliest evidence and apply the degree limits (limits.py);
3. one account per person across chains, then connected components (graph.py);
4. erasures, stable person ids against the previous map (ids.py), the tables (outputs.py).
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

from pipelines.identity.erasure import drop_erased_values, erased_persons
from pipelines.identity.evidence import (
    RECORD,
    SEEDS,
    Encoded,
    EvidenceError,
    HashCollision,
    encode,
    prepare_evidence,
    prepare_previous,
    publish_values,
)
from pipelines.identity.graph import component_labels
from pipelines.identity.ids import assign_person_ids
from pipelines.identity.limits import account_rejections, degree_limit_rejections, rank_pairs
from pipelines.identity.outputs import merge_causes, run_metrics
from pipelines.identity.rules import IdentityRules
from pipelines.settings import Secret

__all__ = ["EvidenceError", "StitchResult", "publish_values", "stitch", "write_tables"]

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
MERGE_COLUMNS = [
    "run_id",
    "merged_at",
    "surviving_person_id",
    "retired_person_id",
    *RECORD,
    "rule",
    "left_kind",
    "left_value",
    "right_kind",
    "right_value",
]
TABLES = (
    "identity_map",
    "identity_record_persons",
    "identity_edges",
    "identity_rejected_edges",
    "identity_merges",
    "identity_splits",
    "identity_suppressed_records",
)


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
    if incremental and previous_map is None:
        raise ValueError("an incremental run needs the previous identity_map (previous_map=...)")
    evidence = prepare_evidence(evidence, rules)
    previous = prepare_previous(previous_map)
    if run_at.tzinfo is not None:
        run_at = run_at.astimezone(UTC).replace(tzinfo=None)
    timer.lap("read_and_check")

    for attempt in range(len(SEEDS)):  # a fixed number of retries, after a 64-bit hash collision
        try:
            encoded = encode(
                evidence,
                rules,
                previous if incremental else None,
                pseudonymize_key,
                attempt,
                timer.lap,
            )
            break
        except HashCollision:
            if attempt == len(SEEDS) - 1:
                raise

    # keep only what the tables still need: record provenance strings, by row
    evidence = evidence.select(*RECORD, "rule")
    if erasures is None or erasures.is_empty():
        encoded.rows = encoded.rows.clear()
    node_info = _node_info(encoded.nodes, previous)
    edges, pairs = rank_pairs(encoded.edges)
    encoded.edges = encoded.edges.clear()
    limited = degree_limit_rejections(pairs, node_info, rules, incremental)
    pairs = pairs.join(limited, on="rank", how="left", maintain_order="left")
    timer.lap("rank_and_degree_limits")

    cut, frozen_left, frozen_right = account_rejections(pairs, node_info, rules, incremental)
    pairs = pairs.join(
        cut.rename({"reason": "cut"}), on="rank", how="left", maintain_order="left"
    ).select(pl.exclude("cut", "reason"), reason=pl.coalesce("reason", "cut"))
    accepted = pairs.filter(pl.col("reason").is_null())
    labels = component_labels(
        node_info.height,
        np.concatenate([accepted["low"].to_numpy().astype(np.int64), frozen_left]),
        np.concatenate([accepted["high"].to_numpy().astype(np.int64), frozen_right]),
    )
    node_info = node_info.with_columns(cluster=pl.Series(labels))
    timer.lap("account_limit_and_components")

    erased_nodes, erased_keys = erased_persons(node_info, erasures, rules, pseudonymize_key)
    kept_nodes = node_info.join(erased_nodes, on="node", how="anti")
    cluster_ids, merges, splits = assign_person_ids(kept_nodes, previous, pseudonymize_key)
    # node order throughout: the map is kept_nodes with a person id column beside it
    person_of_node = kept_nodes.join(cluster_ids, on="cluster", how="left", maintain_order="left")
    timer.lap("erasure_and_person_ids")

    tables = _tables(
        evidence,
        encoded,
        node_info,
        edges,
        pairs,
        accepted,
        person_of_node,
        erased_nodes,
        erased_keys,
        merges,
        splits,
    )
    for name, frame in tables.items():
        if name == "identity_merges":
            tables[name] = frame.with_columns(
                run_id=pl.lit(run_id), merged_at=pl.lit(run_at, dtype=pl.Datetime("us"))
            )
        elif name == "identity_splits":
            tables[name] = frame.with_columns(
                run_id=pl.lit(run_id), split_at=pl.lit(run_at, dtype=pl.Datetime("us"))
            )
    tables["identity_merges"] = tables["identity_merges"].select(MERGE_COLUMNS)
    tables["identity_splits"] = tables["identity_splits"].select(
        "run_id", "split_at", "previous_person_id", "person_id"
    )
    timer.lap("tables")
    metrics = run_metrics(tables, rules, encoded, erased_nodes)
    timer.lap("metrics")
    metrics.update(timer.seconds)
    return StitchResult(tables=tables, metrics=metrics)


def _node_info(nodes: pl.DataFrame, previous: pl.DataFrame | None) -> pl.DataFrame:
    """Per node (in node order): kind, value, first/last seen and its previous person, if any."""
    if previous is None:
        return nodes.with_columns(
            previous_person_id=pl.lit(None, dtype=pl.String),
            previous_first_seen_at=pl.lit(None, dtype=pl.Datetime("us")),
        )
    person_first = previous.group_by("person_id").agg(
        pl.col("first_seen_at").min().alias("previous_first_seen_at")
    )
    prior = previous.join(person_first, on="person_id").select(
        "kind", "value", pl.col("person_id").alias("previous_person_id"), "previous_first_seen_at"
    )
    return nodes.join(prior, on=["kind", "value"], how="left", maintain_order="left")


def _named(
    frame: pl.DataFrame, evidence: pl.DataFrame, nodes: pl.DataFrame, sides: dict[str, str]
) -> pl.DataFrame:
    """Add record provenance (by `row`) and `<side>_kind/_value` (by node column) as strings.

    Both are gathers by integer position (nodes are numbered by row), never joins on strings.
    """
    provenance = evidence.select(
        pl.col(RECORD).cast(pl.String), pl.col("rule").cast(pl.String).alias("record_rule")
    )[frame["row"]]
    frame = pl.concat([frame, provenance], how="horizontal").with_columns(
        rule=pl.coalesce("rule", "record_rule")
    )
    return frame.with_columns(
        [
            nodes[column].gather(frame[node_column]).alias(f"{side}_{column}")
            for side, node_column in sides.items()
            for column in ("kind", "value")
        ]
    )


def _tables(
    evidence: pl.DataFrame,
    encoded: Encoded,
    node_info: pl.DataFrame,
    edges: pl.DataFrame,
    pairs: pl.DataFrame,
    accepted: pl.DataFrame,
    person_of_node: pl.DataFrame,
    erased_nodes: pl.DataFrame,
    erased_keys: pl.DataFrame,
    merges: pl.DataFrame,
    splits: pl.DataFrame,
) -> dict[str, pl.DataFrame]:
    nodes = encoded.nodes
    erased = erased_nodes["node"].implode()
    touches_erased = pl.col("left_node").is_in(erased) | pl.col("right_node").is_in(erased)
    status = edges.with_columns(reason=pairs["reason"].gather(edges["pair_index"])).filter(
        ~touches_erased
    )
    sides = {"left": "left_node", "right": "right_node"}
    accepted_edges = _named(status.filter(pl.col("reason").is_null()), evidence, nodes, sides)
    limited = _named(status.filter(pl.col("reason").is_not_null()), evidence, nodes, sides)

    raw_names = encoded.raw.select("raw_key", "kind", "value")
    blocked = encoded.blocked.with_columns(rule=pl.lit(None, dtype=pl.String))
    blocked = _named(blocked, evidence, nodes, {})
    for side in ("left", "right"):
        blocked = blocked.join(
            raw_names.rename(
                {"raw_key": f"{side}_raw", "kind": f"{side}_kind", "value": f"{side}_value"}
            ),
            on=f"{side}_raw",
            how="left",
            maintain_order="left",
        )
    blocked = drop_erased_values(blocked, erased_keys)
    rejected = pl.concat(
        [limited.select(*EDGE_COLUMNS, "reason"), blocked.select(*EDGE_COLUMNS, "reason")]
    ).sort(
        ["observed_at", *RECORD, "left_kind", "left_value", "right_kind", "right_value"],
        nulls_last=True,
    )

    identity_map = person_of_node.select(
        pl.col("kind").alias("identifier_kind"),
        pl.col("value").alias("identifier_value"),
        "person_id",
        "first_seen_at",
        "last_seen_at",
    )
    anchored = encoded.anchors.join(person_of_node.select("node", "person_id"), on="node").sort(
        "record_key"
    )
    record_persons = pl.concat(
        [
            evidence.select(pl.col(RECORD).cast(pl.String))[anchored["row"]],
            anchored.select("person_id"),
        ],
        how="horizontal",
    )

    causes = merge_causes(merges, accepted, node_info)
    causes = _named(causes.with_columns(pl.col("row").fill_null(0)), evidence, nodes, sides)
    missing = pl.col("rank").is_null()
    causes = causes.with_columns(
        [
            pl.when(missing).then(None).otherwise(pl.col(c)).alias(c)
            for c in [*RECORD, "rule"]
            + [f"{s}_{p}" for s in ("left", "right") for p in ("kind", "value")]
        ]
    ).sort("surviving_person_id", "retired_person_id")

    suppressed_rows = pl.concat(
        [
            encoded.rows.join(erased_nodes, on="node", how="semi").select("row"),
            encoded.rows.join(
                encoded.raw.join(erased_keys, on=["kind", "value"], how="semi").select("raw_key"),
                on="raw_key",
                how="semi",
            ).select("row"),
        ]
    )["row"].unique()
    suppressed = (
        evidence.select(pl.col(RECORD).cast(pl.String))[suppressed_rows].unique().sort(RECORD)
    )
    return {
        "identity_map": identity_map,
        "identity_record_persons": record_persons,
        "identity_edges": accepted_edges.select(EDGE_COLUMNS),
        "identity_rejected_edges": rejected,
        "identity_merges": causes,
        "identity_splits": splits,
        "identity_suppressed_records": suppressed,
    }


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
            frame.write_parquet(temporary, compression="lz4")
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        paths[name] = target
    return paths
