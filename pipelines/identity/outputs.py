"""The identity tables from integer-encoded results, merge provenance and run metrics.

Strings are gathered by integer position (nodes by node number, provenance by evidence row,
person ids by cluster), never joined on. The three large tables (`identity_map`,
`identity_record_persons`, `identity_edges`) are `Gathered`: built slice by slice when read or
written (tables.py); the others are small frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.identity.columnar import MISSING
from pipelines.identity.contract import KIND, RECORD
from pipelines.identity.erasure import drop_erased_values
from pipelines.identity.evidence import Encoded
from pipelines.identity.rules import IdentityRules
from pipelines.identity.tables import Gathered, Held, Tables, strings

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
SIDES = {"left": "left_node", "right": "right_node"}
REJECTED_KEY = ["left_kind", "left_value", "right_kind", "right_value", *RECORD]
"""The grain of identity_rejected_edges (and of identity_edges)."""


@dataclass
class Outcome:
    """Everything the tables are built from."""

    encoded: Encoded
    node_info: pl.DataFrame  # node order: kind, value, first/last seen, cluster, previous person
    edges: pl.DataFrame  # every edge in (pair, time) order, with `reason` (null: accepted)
    accepted_pairs: pl.DataFrame  # pairs with their earliest edge's provenance
    person_of_cluster: pl.Series  # person id by cluster label (null: erased)
    erased_nodes: np.ndarray  # node numbers of erased persons
    erased_keys: pl.DataFrame  # kind, value kept out of every table
    merges: pl.DataFrame  # surviving_person_id, retired_person_id
    splits: pl.DataFrame  # previous_person_id, person_id


def _provenance(encoded: Encoded, rows: pl.Series | np.ndarray) -> pl.DataFrame:
    """Record provenance and the evidence row's rule (`record_rule`) at evidence rows."""
    return encoded.provenance[rows].select(*RECORD, pl.col("rule").alias("record_rule"))


def _named(frame: pl.DataFrame, encoded: Encoded, sides: dict[str, str]) -> pl.DataFrame:
    """Add record provenance (by `row`) and `<side>_kind/_value` (by node column)."""
    frame = pl.concat([frame, _provenance(encoded, frame["row"])], how="horizontal").with_columns(
        rule=pl.coalesce(
            pl.col("rule").cast(pl.Categorical), pl.col("record_rule").cast(pl.Categorical)
        )
    )
    return frame.with_columns(
        _names(encoded.nodes, frame[column], side) for side, column in sides.items()
    ).unnest(*sides)


def _names(named: pl.DataFrame, index: pl.Series, side: str) -> pl.Series:
    """`<side>_kind, <side>_value` of the rows of `named` at `index`, as a struct."""
    picked = named.select("kind", "value")[index]
    return picked.select(
        pl.struct(
            pl.col("kind").alias(f"{side}_kind"), pl.col("value").alias(f"{side}_value")
        ).alias(side)
    ).to_series()


def _erased_mask(size: int, erased: np.ndarray) -> np.ndarray:
    """A boolean per number in [0, size), plus a last False slot for MISSING (see `_is`)."""
    mask = np.zeros(size + 1, dtype=bool)
    mask[erased] = True
    return mask


def _is(mask: np.ndarray, index: np.ndarray) -> np.ndarray:
    return mask[np.minimum(index, len(mask) - 1)]


def build_tables(outcome: Outcome) -> Tables:
    encoded, node_info = outcome.encoded, outcome.node_info
    erased = _erased_mask(node_info.height, outcome.erased_nodes)
    cluster = node_info["cluster"].to_numpy()
    persons = outcome.person_of_cluster

    kept = None if not len(outcome.erased_nodes) else np.flatnonzero(~erased[:-1])

    def identity_map(start: int, stop: int) -> pl.DataFrame:
        part = node_info.slice(start, stop - start) if kept is None else node_info[kept[start:stop]]
        return part.select(
            pl.col("kind").alias("identifier_kind"),
            pl.col("value").alias("identifier_value"),
            persons.gather(part["cluster"]).alias("person_id"),
            "first_seen_at",
            "last_seen_at",
        )

    anchor_rows, anchor_nodes = encoded.anchor_rows, encoded.anchor_nodes
    with_person = anchor_nodes != MISSING
    if len(outcome.erased_nodes):
        with_person &= ~_is(erased, anchor_nodes)
    if not with_person.all():
        anchor_rows, anchor_nodes = anchor_rows[with_person], anchor_nodes[with_person]

    def record_persons(start: int, stop: int) -> pl.DataFrame:
        return encoded.provenance.select(RECORD)[anchor_rows[start:stop]].with_columns(
            persons.gather(cluster[anchor_nodes[start:stop]]).alias("person_id")
        )

    edges = outcome.edges
    kept_edges = edges["reason"].is_null().to_numpy()
    limited = edges[np.flatnonzero(~kept_edges)]  # a gather of the few rejected edges
    if len(outcome.erased_nodes):
        kept_edges &= ~_is(erased, edges["left_node"].to_numpy())
        kept_edges &= ~_is(erased, edges["right_node"].to_numpy())
    accepted = np.flatnonzero(kept_edges)  # positions, not a copy of the frame
    del kept_edges

    def identity_edges(start: int, stop: int) -> pl.DataFrame:
        return _named(edges[accepted[start:stop]], encoded, SIDES).select(EDGE_COLUMNS)

    if len(outcome.erased_nodes):
        limited = limited.filter(
            ~pl.Series(_is(erased, limited["left_node"].to_numpy()))
            & ~pl.Series(_is(erased, limited["right_node"].to_numpy()))
        )
    limited = _named(limited, encoded, SIDES)
    rejected = pl.concat(
        [
            strings(limited.select(*EDGE_COLUMNS, "reason")),
            _blocked_named(encoded, outcome.erased_keys).select(*EDGE_COLUMNS, "reason"),
        ]
    ).sort(
        ["observed_at", *RECORD, "left_kind", "left_value", "right_kind", "right_value"],
        nulls_last=True,
    )
    # grain: one row per rejected link per record; two raw spellings of one blocked value in a
    # record are one link once normalised (the earliest occurrence is kept)
    rejected = rejected.unique(subset=REJECTED_KEY, keep="first", maintain_order=True)
    return Tables(
        {
            "identity_map": Gathered(node_info.height if kept is None else len(kept), identity_map),
            "identity_record_persons": Gathered(len(anchor_rows), record_persons),
            "identity_edges": Gathered(len(accepted), identity_edges),
            "identity_rejected_edges": Held(rejected),
            "identity_merges": Held(_merge_table(outcome)),
            "identity_splits": Held(outcome.splits),
            "identity_suppressed_records": Held(_suppressed(outcome, erased)),
        }
    )


def _blocked_named(encoded: Encoded, erased_keys: pl.DataFrame) -> pl.DataFrame:
    """Edges with a blocked end, named by their raw identifiers' published values."""
    blocked = pl.concat(
        [encoded.blocked, _provenance(encoded, encoded.blocked["row"])], how="horizontal"
    ).with_columns(rule=pl.col("record_rule"))
    blocked = blocked.with_columns(
        _names(encoded.raw, blocked[f"{side}_raw"], side) for side in ("left", "right")
    ).unnest("left", "right")
    return drop_erased_values(strings(blocked), erased_keys)


def _merge_table(outcome: Outcome) -> pl.DataFrame:
    causes = merge_causes(outcome.merges, outcome.accepted_pairs, outcome.node_info)
    causes = _named(causes.with_columns(pl.col("row").fill_null(0)), outcome.encoded, SIDES)
    missing = pl.col("rank").is_null()
    return (
        strings(causes)
        .with_columns(
            [
                pl.when(missing).then(None).otherwise(pl.col(c)).alias(c)
                for c in [*RECORD, "rule"]
                + [f"{s}_{p}" for s in ("left", "right") for p in ("kind", "value")]
            ]
        )
        .sort("surviving_person_id", "retired_person_id")
    )


def _suppressed(outcome: Outcome, erased: np.ndarray) -> pl.DataFrame:
    """Records carrying an identifier of an erased person (or an erased value)."""
    encoded = outcome.encoded
    empty = pl.DataFrame(schema=dict.fromkeys(RECORD, pl.String))
    if not len(outcome.erased_nodes) and outcome.erased_keys.is_empty():
        return empty
    carries = _is(erased, encoded.node_of_row())
    if not outcome.erased_keys.is_empty():
        keys = outcome.erased_keys.with_columns(pl.col("kind").cast(KIND))
        raws = (
            encoded.raw.with_row_index("raw")
            .join(keys, on=["kind", "value"], how="semi")["raw"]
            .to_numpy()
        )
        carries |= _is(_erased_mask(encoded.raw.height, raws), encoded.raw_of_row)
    return (
        encoded.provenance[np.flatnonzero(carries)]
        .select(pl.col(RECORD).cast(pl.String))
        .unique()
        .sort(RECORD)
    )


def merge_causes(merges: pl.DataFrame, accepted: pl.DataFrame, nodes: pl.DataFrame) -> pl.DataFrame:
    """For each retired person, the earliest accepted pair linking it to the rest of its cluster.

    `accepted`: pairs with `low, high, rank` and their provenance columns. Returns
    `surviving_person_id, retired_person_id` plus those provenance columns (null when none).
    """
    if merges.is_empty():
        return merges.select("surviving_person_id", "retired_person_id").join(
            accepted.clear().with_columns(retired_person_id=pl.lit(None, dtype=pl.String)),
            on="retired_person_id",
            how="left",
        )
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
        .drop("low_person", "high_person")
    )
    return merges.select("surviving_person_id", "retired_person_id").join(
        cause, on="retired_person_id", how="left"
    )


def run_metrics(tables: Tables, outcome: Outcome, rules: IdentityRules) -> dict[str, int | float]:
    encoded, node_info = outcome.encoded, outcome.node_info
    erased = _erased_mask(node_info.height, outcome.erased_nodes)[:-1]
    cluster = node_info["cluster"].to_numpy()[~erased]
    sizes = np.bincount(cluster, minlength=1) if len(cluster) else np.zeros(1, dtype=np.int64)
    anonymous_codes = [
        code for code, kind in enumerate(KIND.categories) if kind in rules.anonymous_kinds
    ]  # a handful of kinds
    kinds = np.isin(node_info["kind"].to_physical().to_numpy(), anonymous_codes)
    anonymous = kinds[~erased]
    linked = np.zeros(len(sizes), dtype=bool)
    linked[cluster[~anonymous]] = True
    never_linked = int((anonymous & ~linked[cluster]).sum())
    anonymous_count = int(anonymous.sum())
    anchor_nodes = encoded.anchor_nodes
    rejected = tables["identity_rejected_edges"]
    metrics: dict[str, int | float] = {
        "persons": int((sizes > 0).sum()),
        "identifiers": len(cluster),
        "largest_cluster": int(sizes.max()),
        "merges": tables.height("identity_merges"),
        "splits": tables["identity_splits"]["previous_person_id"].n_unique(),
        "anonymous_never_linked_share": round(never_linked / anonymous_count, 6)
        if anonymous_count
        else 0.0,
        "records": len(encoded.anchor_rows),
        "records_with_blocked_anchor": int((anchor_nodes == MISSING).sum()),
        "identifiers_blocked": encoded.raw.filter(pl.col("block_reason").is_not_null())
        .select("kind", "value")
        .unique()
        .height,
        "erased_identifiers": len(outcome.erased_nodes),
        "suppressed_records": tables.height("identity_suppressed_records"),
        "edges_accepted": tables.height("identity_edges"),
        "edges_rejected": rejected.height,
    }
    by_reason = rejected.group_by("reason").len().sort("reason")
    for reason, count in by_reason.iter_rows():
        metrics[f"edges_rejected[{reason}]"] = count
    return metrics
