"""Identity stitching: evidence (contracts §5.2) -> identity tables (contracts §5.3).

Steps, all columnar (Polars and numpy; scipy for the graph):
1. encode (evidence.py): hash keys per record and raw identifier in one streaming pass,
   normalise / guard / pseudonymise each distinct raw identifier once, number the nodes, draw
   the edges inside each record (anchor -> every other identifier) plus `same_customer_id`;
   blocked ends are rejected;
2. rank identifier pairs by earliest evidence and apply the degree limits (limits.py);
3. one account per person across chains, then connected components (graph.py);
4. erasures, stable person ids against the previous map (ids.py), the tables (outputs.py),
   which stay integer-encoded until they are read or written slice by slice (tables.py).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.console import format_seconds
from pipelines.identity.columnar import MISSING, index_or_null, small_pages
from pipelines.identity.contract import KIND, EvidenceError
from pipelines.identity.erasure import erased_persons
from pipelines.identity.evidence import encode
from pipelines.identity.ids import assign_person_ids
from pipelines.identity.keys import SEEDS, HashCollision
from pipelines.identity.limits import (
    ACCOUNT_REASON,
    account_rejections,
    degree_limit_rejections,
    prior_pairs,
    rank_pairs,
    repeated_rejections,
)
from pipelines.identity.outputs import (
    EDGE_COLUMNS,
    MERGE_COLUMNS,
    Outcome,
    build_tables,
    run_metrics,
)
from pipelines.identity.published import publish_values
from pipelines.identity.reading import prepare_evidence, prepare_previous, prepare_previous_links
from pipelines.identity.rules import IdentityRules
from pipelines.identity.tables import Tables, write_table
from pipelines.settings import Secret

__all__ = [
    "EDGE_COLUMNS",
    "EvidenceError",
    "StitchResult",
    "Tables",
    "publish_values",
    "stitch",
    "write_tables",
]

log = logging.getLogger("journey.identity")

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
    """`tables` maps each table name to its frame (large ones are built on access, see Tables)."""

    tables: Tables
    metrics: dict[str, int | float] = field(default_factory=dict)


class _Timer:
    """Wall time per step, reported in the run metrics as `seconds[step]`; each phase (a step
    without `:`) is also logged with what it found, as progress for the run's log."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()
        self._phase_started = self._last

    def lap(self, step: str, found: str | None = None) -> None:
        now = time.perf_counter()
        self.seconds[f"seconds[{step}]"] = round(now - self._last, 3)
        self._last = now
        if ":" not in step:
            self.phase(step, found)

    def phase(self, name: str, found: str | None = None) -> None:
        """Log the phase that ends now, with what it found and how long it took."""
        now = time.perf_counter()
        took = format_seconds(now - self._phase_started)
        self._phase_started = now
        log.info("identity: %s%s (%s)", name.replace("_", " "), f": {found}" if found else "", took)


@small_pages()
def stitch(
    evidence: pl.LazyFrame | pl.DataFrame,
    *,
    rules: IdentityRules,
    run_id: str,
    run_at: datetime,
    previous_map: pl.DataFrame | None = None,
    previous_edges: pl.DataFrame | None = None,
    previous_rejected_edges: pl.DataFrame | None = None,
    erasures: pl.DataFrame | None = None,
    pseudonymize_key: Secret | None = None,
    incremental: bool = False,
) -> StitchResult:
    """Stitch identifiers into persons (contracts §5).

    `evidence` may be lazy (e.g. `pl.scan_parquet`): it is read in one streaming pass, plus one
    more for the identifier values. `previous_map` (last run's identity_map) keeps person ids
    stable. With `incremental=True` the evidence holds only new records, the previous map's
    persons are kept as links, and `previous_edges` / `previous_rejected_edges` (the
    identity_edges and identity_rejected_edges of every run the map stands for) say which links
    each identifier had and which were refused, so the outcome equals a full rebuild's (see
    README "Incremental runs" for the exact terms; a full rebuild does not read them).
    `erasures` (`identifier_kind, identifier_value, requested_at`) removes whole persons.
    `pseudonymize_key` replaces the values of `rules.pseudonymize_kinds` by keyed HMAC-SHA256.
    """
    timer = _Timer()
    if incremental and previous_map is None:
        raise ValueError("an incremental run needs the previous identity_map (previous_map=...)")
    links = prepare_previous_links(previous_edges, previous_rejected_edges) if incremental else None
    prepared = prepare_evidence(evidence, rules)
    previous = prepare_previous(previous_map)
    if run_at.tzinfo is not None:
        run_at = run_at.astimezone(UTC).replace(tzinfo=None)
    timer.lap(
        "read_and_check",
        f"{prepared.rows.height:,} evidence rows" if prepared.rows is not None else None,
    )

    for attempt in range(len(SEEDS)):  # a fixed number of retries, after a 64-bit hash collision
        try:
            encoded = encode(
                prepared,
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

    timer.phase(
        "encode",
        f"{encoded.nodes.height:,} identifiers, {encoded.edges.height:,} links drawn, "
        f"{encoded.blocked.height:,} links to blocked identifiers refused",
    )
    node_info = _node_info(encoded.nodes, previous)
    edges, pairs = rank_pairs(encoded.edges)
    encoded.edges = encoded.edges.clear()
    reasons = _Reasons(rules, pairs)
    prior = prior_pairs(links, node_info) if links is not None else None
    if prior is not None:  # a pair refused before stays refused
        reasons.add(repeated_rejections(pairs, prior, reasons.known))
    reasons.add(degree_limit_rejections(pairs, node_info, rules, prior))
    del prior
    pairs = pairs.with_columns(reason=reasons.series())
    timer.lap(
        "rank_and_degree_limits",
        f"{pairs.height:,} identifier pairs, {int((reasons.codes > 0).sum()):,} refused by the limits",
    )

    cut, labels = account_rejections(pairs, node_info, rules, incremental)
    reasons.add(cut)
    pairs = pairs.with_columns(reason=reasons.series())
    # merge provenance (only with a previous map) needs the accepted pairs with their earliest edge
    accepted = pairs.filter(pl.col("reason").is_null()) if previous is not None else pairs.clear()
    node_info = node_info.with_columns(cluster=pl.Series(labels))
    edges = edges.select(
        "row",
        "left_node",
        "right_node",
        "observed_at",
        "rule",
        reasons.series().gather(edges["pair_index"]),
    )
    del pairs
    timer.lap(
        "account_limit_and_components",
        f"{int(labels.max(initial=-1)) + 1:,} clusters, {cut.height:,} links cut (one account per person)",
    )

    erased_nodes, erased_keys = erased_persons(node_info, erasures, rules, pseudonymize_key)
    kept_nodes = (
        node_info
        if erased_nodes.is_empty()
        else node_info.join(erased_nodes, on="node", how="anti")
    )
    cluster_ids, merges, splits = assign_person_ids(kept_nodes, previous, pseudonymize_key)
    del kept_nodes
    timer.lap(
        "erasure_and_person_ids",
        f"{cluster_ids.height:,} persons, {merges.height:,} merges, {splits.height:,} splits, "
        f"{erased_nodes.height:,} erased identifiers",
    )

    outcome = Outcome(
        encoded=encoded,
        node_info=node_info,
        edges=edges,
        accepted_pairs=accepted if merges.height else accepted.clear(),
        person_of_cluster=_person_of_cluster(cluster_ids, int(labels.max(initial=-1)) + 1),
        erased_nodes=erased_nodes["node"].to_numpy(),
        erased_keys=erased_keys,
        merges=merges,
        splits=splits,
    )
    tables = build_tables(outcome)
    tables["identity_merges"] = (
        tables["identity_merges"]
        .with_columns(run_id=pl.lit(run_id), merged_at=pl.lit(run_at, dtype=pl.Datetime("us")))
        .select(MERGE_COLUMNS)
    )
    tables["identity_splits"] = (
        tables["identity_splits"]
        .with_columns(run_id=pl.lit(run_id), split_at=pl.lit(run_at, dtype=pl.Datetime("us")))
        .select("run_id", "split_at", "previous_person_id", "person_id")
    )
    timer.lap("tables")
    metrics = run_metrics(tables, outcome, rules)
    timer.lap("metrics")
    metrics.update(timer.seconds)
    return StitchResult(tables=tables, metrics=metrics)


class _Reasons:
    """Each pair's rejection reason (first one wins) as codes, and as an Enum column."""

    def __init__(self, rules: IdentityRules, pairs: pl.DataFrame) -> None:
        names = sorted({limit.reason for limit in rules.degree_limits} | {ACCOUNT_REASON})
        self.known = names
        self.dtype = pl.Enum(names)
        self.names = pl.Series([None, *names], dtype=self.dtype)
        rank = pairs["rank"].to_numpy()
        self.by_rank = np.empty(len(rank), dtype=np.int64)
        self.by_rank[rank] = np.arange(len(rank))
        self.codes = np.zeros(len(rank), dtype=np.uint8)

    def add(self, rejected: pl.DataFrame) -> None:
        """`rank, reason` rows; a pair keeps an earlier reason."""
        pairs = self.by_rank[rejected["rank"].to_numpy()]
        codes = rejected["reason"].cast(self.dtype).to_physical().to_numpy().astype(np.uint8) + 1
        fresh = self.codes[pairs] == 0
        self.codes[pairs[fresh]] = codes[fresh]

    def series(self) -> pl.Series:
        return self.names.gather(pl.Series(self.codes)).alias("reason")


def _person_of_cluster(cluster_ids: pl.DataFrame, clusters: int) -> pl.Series:
    """Person id by cluster label; null for clusters without one (erased)."""
    position = np.full(clusters, MISSING, dtype=np.uint32)
    position[cluster_ids["cluster"].to_numpy()] = np.arange(cluster_ids.height, dtype=np.uint32)
    return cluster_ids["person_id"].gather(index_or_null(position))


def _node_info(nodes: pl.DataFrame, previous: pl.DataFrame | None) -> pl.DataFrame:
    """Per node (in node order): kind, value, first/last seen and its previous person, if any."""
    if previous is None:
        return nodes
    person_first = previous.group_by("person_id").agg(
        pl.col("first_seen_at").min().alias("previous_first_seen_at")
    )
    prior = previous.join(person_first, on="person_id").select(
        pl.col("kind").cast(KIND),
        "value",
        pl.col("person_id").alias("previous_person_id"),
        "previous_first_seen_at",
    )
    return nodes.join(prior, on=["kind", "value"], how="left", maintain_order="left")


@small_pages()
def write_tables(result: StitchResult, out_dir: Path) -> dict[str, Path]:
    """Write each table as `<out_dir>/<table>.parquet`, atomically (temp file, then rename).

    Large tables are streamed slice by slice, so their strings are never all in memory.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / f"{name}.parquet" for name in result.tables}
    # two tables at a time: building slices, encoding and compressing all release the GIL
    with ThreadPoolExecutor(max_workers=2) as pool:
        written = [
            pool.submit(write_table, result.tables.slices(name), path)
            for name, path in paths.items()
        ]
        for future in written:
            future.result()
    return paths
