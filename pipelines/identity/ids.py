"""Stable person ids: carry ids over from the previous map, record merges and splits.

Rules (columnar, see README "Stable ids"):
* every previous person goes "home" to the new cluster holding most of its identifiers
  (ties: the cluster whose earliest identifier comes first);
* a cluster keeps the id of the oldest previous person homed in it (earliest first_seen_at,
  then smallest id); the other persons homed there are retired into it (a merge);
* a previous person whose identifiers now lie in several clusters is split: one row per cluster;
* a cluster without a previous person gets `p_` + the first 16 hex digits of the (keyed) hash
  of its earliest identifier `kind:value`, so a rebuild without history gives the same ids.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.identity.columnar import (
    LATEST,
    datetime_ints,
    group_minimum,
    is_duplicated,
    order_by,
)
from pipelines.identity.hashing import hash_hex
from pipelines.settings import Secret

ID_HEX_DIGITS = 16
MAX_COLLISION_ROUNDS = 8


def derive_ids(
    first_identifiers: pl.DataFrame, taken: pl.Series, key: Secret | None
) -> pl.DataFrame:
    """`cluster, person_id` from each cluster's earliest identifier (`cluster, kind, value`).

    An id already `taken` (a previous person's) or shared by two clusters is re-derived with a
    counter suffix; a fixed number of rounds, never a loop over rows.
    """
    pending = first_identifiers.select("cluster", "kind", "value")
    assigned: list[pl.DataFrame] = []
    used = taken.unique()
    for round_number in range(MAX_COLLISION_ROUNDS):
        # `kind:value`, then `kind:value#1`, `#2`, ... for the (rare) clashing ones
        text = pending.select(
            "kind",
            pl.col("value") + f"#{round_number}" if round_number else pl.col("value"),
        )
        candidate = pending.with_columns(person_id=hash_hex(text, key, ID_HEX_DIGITS, prefix="p_"))
        clash = candidate["person_id"].is_in(used.implode()) | is_duplicated(candidate["person_id"])
        assigned.append(candidate.filter(~clash).select("cluster", "person_id"))
        used = pl.concat([used, candidate.filter(~clash)["person_id"]])
        pending = candidate.filter(clash).select("cluster", "kind", "value")
        if pending.is_empty():
            break
    if not pending.is_empty():
        raise RuntimeError(f"could not derive unique person ids for {pending.height} clusters")
    return pl.concat(assigned)


def earliest_identifiers(nodes: pl.DataFrame) -> pl.DataFrame:
    """Per cluster its earliest identifier (first_seen_at, nulls last, then node), as `cluster,
    cluster_order, kind, value`, clusters in the order of their earliest identifiers.

    Minima per cluster in turn (time, then node among the nodes at that time), then one stable
    sort of the earliest nodes by time (they are in node order, so ties go by node).
    """
    cluster = nodes["cluster"].to_numpy()
    count = int(cluster.max()) + 1 if len(cluster) else 0
    instants = datetime_ints(nodes["first_seen_at"], LATEST)
    at_first = instants == group_minimum(cluster, instants, count, LATEST)[cluster]
    position = np.flatnonzero(at_first)
    first = group_minimum(cluster[position], position, count, len(cluster))
    earliest = np.sort(first[first < len(cluster)])
    earliest = earliest[order_by(nodes["first_seen_at"].gather(earliest), nulls_last=True)]
    return pl.DataFrame(
        {
            "cluster": nodes["cluster"].gather(earliest),
            "cluster_order": np.arange(len(earliest), dtype=np.uint32),
            "kind": nodes["kind"].gather(earliest),
            "value": nodes["value"].gather(earliest),
        }
    )


def assign_person_ids(
    nodes: pl.DataFrame,
    previous: pl.DataFrame | None,
    key: Secret | None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Person id per cluster, plus merges (survivor, retired) and splits.

    `nodes`: node (numbered in node order, see nodes.number_nodes), cluster, kind, value,
    first_seen_at, previous_person_id (null when new), previous_first_seen_at (the previous
    person's first_seen_at).
    Returns (`cluster, person_id`), (`surviving_person_id, retired_person_id`),
    (`previous_person_id, person_id`).
    """
    earliest = earliest_identifiers(nodes)
    empty_merges = pl.DataFrame(
        schema={"surviving_person_id": pl.String, "retired_person_id": pl.String}
    )
    empty_splits = pl.DataFrame(schema={"previous_person_id": pl.String, "person_id": pl.String})
    if previous is None or nodes["previous_person_id"].null_count() == nodes.height:
        ids = derive_ids(earliest, pl.Series([], dtype=pl.String), key)
        return ids, empty_merges, empty_splits

    overlap = (
        nodes.filter(pl.col("previous_person_id").is_not_null())
        .group_by("cluster", "previous_person_id")
        .agg(pl.len().alias("overlap"), pl.col("previous_first_seen_at").first())
        .join(earliest.select("cluster", "cluster_order"), on="cluster")
    )
    home = (
        overlap.sort(
            ["previous_person_id", "overlap", "cluster_order"], descending=[False, True, False]
        )
        .group_by("previous_person_id", maintain_order=True)
        .first()
    )
    ranked = home.sort(
        ["cluster", "previous_first_seen_at", "previous_person_id"], nulls_last=True
    ).with_columns(position=pl.int_range(pl.len()).over("cluster"))
    survivors = ranked.filter(pl.col("position") == 0).select(
        "cluster", pl.col("previous_person_id").alias("person_id")
    )
    merges = (
        ranked.filter(pl.col("position") > 0)
        .join(survivors, on="cluster")
        .select(
            pl.col("person_id").alias("surviving_person_id"),
            pl.col("previous_person_id").alias("retired_person_id"),
            "cluster",
        )
    )
    fresh = earliest.join(survivors, on="cluster", how="anti")
    taken = previous["person_id"]
    ids = pl.concat([survivors, derive_ids(fresh, taken, key)])
    split_persons = (
        overlap.group_by("previous_person_id")
        .agg(pl.len().alias("pieces"))
        .filter(pl.col("pieces") > 1)
    )
    splits = (
        overlap.join(split_persons, on="previous_person_id", how="semi")
        .join(ids, on="cluster")
        .select("previous_person_id", "person_id")
        .sort("previous_person_id", "person_id")
    )
    return ids, merges, splits
