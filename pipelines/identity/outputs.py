"""Merge provenance and run metrics."""

from __future__ import annotations

import polars as pl

from pipelines.identity.evidence import Encoded
from pipelines.identity.rules import IdentityRules


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


def run_metrics(
    tables: dict[str, pl.DataFrame],
    rules: IdentityRules,
    encoded: Encoded,
    erased_nodes: pl.DataFrame,
) -> dict[str, int | float]:
    identity_map = tables["identity_map"]
    sizes = identity_map.group_by("person_id").len()
    anonymous = pl.col("identifier_kind").is_in(list(rules.anonymous_kinds))
    linked_persons = identity_map.filter(~anonymous).select("person_id").unique()
    anonymous_ids = identity_map.filter(anonymous)
    never_linked = anonymous_ids.join(linked_persons, on="person_id", how="anti").height
    anchors = encoded.anchors
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
        "records_with_blocked_anchor": anchors.filter(pl.col("node").is_null()).height,
        "identifiers_blocked": encoded.raw.filter(pl.col("block_reason").is_not_null())
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
