"""Nightly identity: re-stitch only the part of the graph that tonight's records touch.

The stitcher's decisions (degree limits, the one-account chain rule, stable ids, erasure) never
look beyond a *candidate component*: the identifiers joined by appearing in one record (or by
`same_customer_id`), whether the link was then accepted or refused. So a full stitch restricted
to whole candidate components gives exactly the full stitch's rows for them. A night therefore

1. finds the records that are new, changed (their evidence fingerprint differs) or gone;
2. takes the candidate components they touch (through the identifiers of the new records, the
   components of the changed and gone ones, and the identifiers on the erasure list);
3. stitches, in full mode, the evidence of every record of those components, against the
   previous identity_map of their identifiers (stable ids, merges);
4. replaces those components' rows of the previous tables with the result.

The state between nights is integer-encoded (`NightState`): per identifier its candidate
component (UInt32; the identifier strings are the dictionary), and per record a 64-bit key,
a 64-bit evidence fingerprint and its component. Everything is columnar (Polars joins, scipy
components); no Dagster here. The identity asset calls it with the state of the live
generation (`pipelines.warehouse.identity_state`; DECISIONS.md, "A night re-stitches ...").

Limits (each falls back to a full stitch, which rebuilds the state): no state yet, a state
written by another Polars version (the 64-bit hashes are Polars'), different rules or key.
A night's metrics describe the re-stitched part only.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypedDict

import numpy as np
import polars as pl

from pipelines.identity.contract import RECORD
from pipelines.identity.graph import component_labels
from pipelines.identity.published import published_identifiers
from pipelines.identity.rules import IdentityRules
from pipelines.identity.stitch import StitchResult, stitch, write_tables
from pipelines.identity.tables import sink_table
from pipelines.settings import Secret

HASH_SEED = 17
NO_COMPONENT = np.iinfo(np.uint32).max
STATE_FILES = ("identity_state_nodes.parquet", "identity_state_records.parquet")
STATE_META = "identity_state.json"


class StitchOptions(TypedDict):
    """The arguments a night hands to every `stitch` it runs."""

    rules: IdentityRules
    run_id: str
    run_at: datetime
    erasures: pl.DataFrame | None
    pseudonymize_key: Secret | None


PER_RECORD_TABLES = (
    "identity_record_persons",
    "identity_edges",
    "identity_rejected_edges",
    "identity_suppressed_records",
)
CARRIED_TABLES = ("identity_map", *PER_RECORD_TABLES)
"""The tables a night rebuilds from the previous ones plus the re-stitched part."""


@dataclass
class NightState:
    """The graph of the previous nights in integer form."""

    nodes: pl.DataFrame | pl.LazyFrame  # kind, value (published form), component (UInt32)
    """Lazy when read from a folder: a night reads only the identifiers it needs."""
    records: pl.DataFrame  # record_key (UInt64), fingerprint (UInt64), component (UInt32)
    signature: str  # rules, key and library version the state was built with

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for frame, name in zip((self.nodes, self.records), STATE_FILES, strict=True):
            sink_table(frame.lazy(), folder / name)
        (folder / STATE_META).write_text(json.dumps({"signature": self.signature}))

    @classmethod
    def read(cls, folder: Path) -> NightState | None:
        paths = [folder / name for name in STATE_FILES]
        if not (folder / STATE_META).exists() or not all(path.exists() for path in paths):
            return None
        meta = json.loads((folder / STATE_META).read_text())
        nodes = pl.scan_parquet(paths[0])
        nodes.collect_schema()  # an unreadable file fails here, not in the middle of a night
        return cls(nodes, pl.read_parquet(paths[1]), meta["signature"])


@dataclass
class NightResult:
    tables: MutableMapping[str, pl.DataFrame] | dict[str, pl.LazyFrame]
    """Full mode: the stitcher's tables. Incremental: each carried table as a LazyFrame (the
    previous rows kept, read from their files when written, plus the re-stitched part's),
    the merges and splits of the re-stitched part."""
    state: NightState
    stitched: StitchResult
    """The stitch of the re-stitched part (its metrics; merges and splits are this run's)."""
    mode: str  # "full" or "incremental"
    reason: str  # why full, or what was re-stitched
    restitched_records: int
    seconds: dict[str, float]
    """Wall time per step."""


def signature(rules: IdentityRules, key: Secret | None) -> str:
    """What a state depends on besides the data: the rules, the key and Polars' hashing."""
    text = json.dumps(
        {
            "rules": repr(rules),
            "key": hashlib.sha256(key.reveal().encode()).hexdigest() if key else None,
            "polars": pl.__version__,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _row_hash() -> pl.Expr:
    """A 64-bit hash of one evidence row; a record's fingerprint sums them (order-free)."""
    return pl.struct(
        "identifier_kind", "identifier_value", "rule", "is_anchor", "observed_at"
    ).hash(HASH_SEED)


def _collect(frame: pl.LazyFrame) -> pl.DataFrame:
    return frame.collect(engine="streaming")


class _Laps:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = round(now - self._last, 3)
        self._last = now


def _record_key() -> pl.Expr:
    return pl.struct(RECORD).hash(HASH_SEED).alias("record_key")


def _by_records(frame: pl.LazyFrame, keys: pl.DataFrame, how: str) -> pl.LazyFrame:
    """The rows of `frame` whose record is (semi) or is not (anti) among `keys.record_key`."""
    keyed = frame.with_columns(_record_key())
    return keyed.join(keys.lazy(), on="record_key", how=how).drop("record_key")  # type: ignore[arg-type]


def stitch_night(
    evidence: pl.DataFrame | pl.LazyFrame,
    *,
    rules: IdentityRules,
    run_id: str,
    run_at: datetime,
    state: NightState | None,
    previous_tables: Mapping[str, pl.DataFrame | pl.LazyFrame | None],
    erasures: pl.DataFrame | None = None,
    pseudonymize_key: Secret | None = None,
) -> NightResult:
    """Tonight's identity tables from the whole evidence, re-stitching only what changed.

    `previous_tables`: the previous night's identity_map, identity_record_persons,
    identity_edges, identity_rejected_edges and identity_suppressed_records (all rows), the
    ones `state` was built with. Returns the full tables, the new state and how it went.
    `evidence` and the previous tables may be lazy (`pl.scan_parquet`): a night then reads
    the evidence in streaming passes and holds only the re-stitched records' rows, and the
    previous tables' kept rows go from file to file when the tables are written.
    """
    timer = _Laps()
    columns = [
        *RECORD,
        "observed_at",
        "rule",
        pl.col("identifier_kind").cast(pl.String),
        pl.col("identifier_value").cast(pl.String),
        "is_anchor",
    ]
    evidence = evidence.lazy().select(columns)
    keyed = evidence.with_columns(_record_key())
    fingerprints = _collect(
        keyed.group_by("record_key").agg((_row_hash() // 65_536).sum().alias("fingerprint"))
    )
    timer.lap("fingerprints")
    wanted = signature(rules, pseudonymize_key)
    why_full = _why_full(state, previous_tables, wanted)
    options = StitchOptions(
        rules=rules,
        run_id=run_id,
        run_at=run_at,
        erasures=erasures,
        pseudonymize_key=pseudonymize_key,
    )
    if why_full is not None:
        assert why_full
        given = previous_tables.get("identity_map")
        full_map = given.lazy().collect() if given is not None else None
        result = stitch(evidence, previous_map=full_map, **options)
        timer.lap("stitch")
        nodes, records = _components(evidence, rules, pseudonymize_key, fingerprints)
        timer.lap("state")
        return NightResult(
            result.tables,  # the stitcher's tables, built slice by slice when written
            NightState(nodes, records, wanted),
            result,
            "full",
            why_full,
            fingerprints.height,
            timer.seconds,
        )
    assert state is not None

    # 1. records that are new, changed or gone
    compared = fingerprints.join(
        state.records.rename({"fingerprint": "previous_fingerprint"}),
        on="record_key",
        how="full",
        coalesce=True,
    )
    is_new = pl.col("previous_fingerprint").is_null()
    changed_or_gone = pl.col("previous_fingerprint").is_not_null() & (
        pl.col("fingerprint").is_null() | (pl.col("fingerprint") != pl.col("previous_fingerprint"))
    )
    new_keys = compared.filter(is_new).select("record_key")
    touched = (
        compared.filter(changed_or_gone & (pl.col("component") != NO_COMPONENT))
        .get_column("component")
        .drop_nulls()
    )

    # 2. the components they touch: also through the identifiers new and changed records carry
    fresh = compared.filter(is_new | (changed_or_gone & pl.col("fingerprint").is_not_null()))
    new_rows = _collect(
        keyed.join(fresh.select("record_key").lazy(), on="record_key", how="semi").select(
            pl.col("identifier_kind").alias("kind"), pl.col("identifier_value").alias("raw_value")
        )
    )
    if erasures is not None and erasures.height:
        new_rows = pl.concat(
            [
                new_rows,
                erasures.select(
                    pl.col("identifier_kind").cast(pl.String).alias("kind"),
                    pl.col("identifier_value").cast(pl.String).alias("raw_value"),
                ),
            ]
        )
    seeds = _published_keys(new_rows.unique(), rules, pseudonymize_key)
    seeds = pl.concat([seeds, _same_customer_partners(seeds)]).unique()
    state_nodes = state.nodes.lazy()
    hit = _collect(state_nodes.join(seeds.lazy(), on=["kind", "value"], how="semi")).get_column(
        "component"
    )
    affected = pl.concat([touched, hit]).unique()

    # 3. every record of those components, and the new ones, stitched in full mode
    restitch = pl.concat(
        [
            state.records.filter(pl.col("component").is_in(affected.implode())).select(
                "record_key"
            ),
            new_keys,
            compared.filter(changed_or_gone).select("record_key"),
        ]
    ).unique()
    part = _collect(
        keyed.join(restitch.lazy(), on="record_key", how="semi", maintain_order="left").drop(
            "record_key"
        )
    )
    timer.lap("find_the_touched_components")
    affected_keys = _collect(
        state_nodes.filter(pl.col("component").is_in(affected.implode())).select("kind", "value")
    )
    given_map = previous_tables["identity_map"]
    assert given_map is not None
    previous_map = given_map.lazy()
    map_keys = ["identifier_kind", "identifier_value"]
    affected_map_keys = affected_keys.rename({"kind": map_keys[0], "value": map_keys[1]}).lazy()
    part_map = _collect(previous_map.join(affected_map_keys, on=map_keys, how="semi"))
    result = stitch(part, previous_map=part_map, **options)
    timer.lap("stitch")

    # 4. the previous rows of everything re-stitched (or gone) give way to the result's
    replaced = pl.concat(
        [restitch, compared.filter(pl.col("fingerprint").is_null()).select("record_key")]
    ).unique()
    tables: dict[str, pl.LazyFrame] = {}
    stitched_map = result.tables["identity_map"]
    tables["identity_map"] = pl.concat(
        [
            previous_map.join(affected_map_keys, on=map_keys, how="anti")
            .select(stitched_map.columns)
            .cast(stitched_map.schema),
            stitched_map.lazy(),
        ]
    )
    for name in PER_RECORD_TABLES:
        previous = previous_tables[name]
        assert previous is not None
        kept = _by_records(previous.lazy(), replaced, "anti")
        fresh_rows = result.tables[name]
        tables[name] = pl.concat(
            [kept.select(fresh_rows.columns).cast(fresh_rows.schema), fresh_rows.lazy()]
        )
    for name in ("identity_merges", "identity_splits"):
        tables[name] = result.tables[name].lazy()

    # the new state: the re-stitched part's components, numbered after every old one
    part_nodes, part_records = _components(
        part, rules, pseudonymize_key, fingerprints.join(restitch, on="record_key", how="semi")
    )
    offset = int(_collect(state_nodes.select(pl.col("component").max().fill_null(0))).item()) + 1
    part_nodes = part_nodes.with_columns(pl.col("component") + offset)
    part_records = part_records.with_columns(
        pl.when(pl.col("component") == NO_COMPONENT)
        .then(pl.col("component"))
        .otherwise(pl.col("component") + offset)
        .alias("component")
    )
    new_nodes = pl.concat(
        [
            state_nodes.filter(~pl.col("component").is_in(affected.implode())),
            part_nodes.lazy().cast(state_nodes.collect_schema()),
        ]
    )
    records = pl.concat([state.records.join(replaced, on="record_key", how="anti"), part_records])
    timer.lap("tables_and_state")
    return NightResult(
        tables,
        NightState(new_nodes, records.cast(state.records.schema), wanted),
        result,
        "incremental",
        f"{restitch.height:,} of {fingerprints.height:,} records re-stitched "
        f"({new_keys.height:,} new, {affected.len():,} components touched)",
        restitch.height,
        timer.seconds,
    )


def write_night(night: NightResult, folder: Path) -> dict[str, Path]:
    """Write a night's seven tables and its new state into `folder` (each file atomically).

    An incremental night's carried tables stream from the previous files to the new ones
    (`sink_table`: never held whole); the other tables are the stitch's (`write_tables`, with
    whatever history the caller put into `night.stitched.tables`). Returns each table's path.
    """
    folder.mkdir(parents=True, exist_ok=True)
    result = night.stitched
    paths: dict[str, Path] = {}
    if night.mode == "incremental":
        for table in CARRIED_TABLES:
            frame = night.tables[table]
            assert isinstance(frame, pl.LazyFrame)
            paths[table] = folder / f"{table}.parquet"
            sink_table(frame, paths[table])
            del result.tables[table]
    paths.update(write_tables(result, folder))
    night.state.write(folder)
    return paths


def _why_full(
    state: NightState | None,
    previous_tables: Mapping[str, pl.DataFrame | pl.LazyFrame | None],
    wanted: str,
) -> str | None:
    if state is None:
        return "no identity state yet"
    if state.signature != wanted:
        return "the rules, the key or the library changed since the state was written"
    missing = [name for name in CARRIED_TABLES if previous_tables.get(name) is None]
    if missing:
        return f"no previous {', '.join(missing)}"
    return None


def _published_keys(raw: pl.DataFrame, rules: IdentityRules, key: Secret | None) -> pl.DataFrame:
    """`kind, raw_value` -> the distinct non-blocked `kind, value` in published form."""
    published = published_identifiers(raw, rules, key)
    return (
        published.filter(pl.col("block_reason").is_null() & pl.col("value").is_not_null())
        .select(pl.col("kind").cast(pl.String), "value")
        .unique()
    )


def _same_customer_partners(keys: pl.DataFrame) -> pl.DataFrame:
    """For each web_user_id / shop_customer_id, the other kind with the same value."""
    swap = {"web_user_id": "shop_customer_id", "shop_customer_id": "web_user_id"}
    return keys.filter(pl.col("kind").is_in(list(swap))).select(
        pl.col("kind").replace_strict(swap, return_dtype=pl.String), "value"
    )


def _components(
    evidence: pl.DataFrame | pl.LazyFrame,
    rules: IdentityRules,
    key: Secret | None,
    fingerprints: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Candidate components of `evidence`: identifiers joined by sharing a record or by
    `same_customer_id`. Returns the nodes (`kind, value, component`) and the records
    (`record_key, fingerprint, component`; NO_COMPONENT when every identifier is blocked)."""
    rows = evidence.lazy().select(
        _record_key(),
        pl.col("identifier_kind").alias("kind"),
        pl.col("identifier_value").alias("raw_value"),
    )
    # only the distinct identifiers and integer pairs are held, never the evidence rows
    distinct = _collect(rows.select("kind", "raw_value").unique())
    published = published_identifiers(distinct, rules, key).select(  # rows keep their order
        pl.col("kind").cast(pl.String),
        distinct.get_column("raw_value"),
        pl.when(pl.col("block_reason").is_null()).then(pl.col("value")).alias("value"),
    )
    nodes = (
        published.filter(pl.col("value").is_not_null())
        .select("kind", "value")
        .unique()
        .sort("kind", "value")
        .with_row_index("node")
    )
    row_nodes = _collect(
        rows.join(published.lazy(), on=["kind", "raw_value"], how="inner")
        .join(nodes.lazy(), on=["kind", "value"], how="inner")
        .select("record_key", "node")
    )
    first = row_nodes.group_by("record_key").agg(pl.col("node").min().alias("first"))
    stars = row_nodes.join(first, on="record_key")
    partners = nodes.join(
        _same_customer_partners(nodes.select("kind", "value")).with_columns(pair=pl.lit(True)),
        on=["kind", "value"],
        how="inner",
    ).select("node", "kind", "value")
    swapped = partners.select(
        "node",
        pl.col("kind").replace_strict(
            {"web_user_id": "shop_customer_id", "shop_customer_id": "web_user_id"},
            return_dtype=pl.String,
        ),
        "value",
    ).join(nodes.rename({"node": "partner"}), on=["kind", "value"], how="inner")
    left = np.concatenate([stars["first"].to_numpy(), swapped["node"].to_numpy()])
    right = np.concatenate([stars["node"].to_numpy(), swapped["partner"].to_numpy()])
    labels = component_labels(nodes.height, left.astype(np.int64), right.astype(np.int64))
    component = pl.Series("component", labels, dtype=pl.UInt32)
    node_frame = nodes.select("kind", "value", component)
    record_component = first.select(
        "record_key", component.gather(first["first"]).alias("component")
    )
    records = fingerprints.join(record_component, on="record_key", how="left").with_columns(
        pl.col("component").fill_null(NO_COMPONENT)
    )
    return node_frame, records.select("record_key", "fingerprint", "component")
