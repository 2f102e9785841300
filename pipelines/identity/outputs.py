"""Erasure, merge provenance, run metrics and the atomic writer of the identity tables."""

from __future__ import annotations

import polars as pl

from pipelines.identity.evidence import Encoded, EvidenceError, published_identifiers
from pipelines.identity.rules import IdentityRules
from pipelines.settings import Secret


def erased_persons(
    node_info: pl.DataFrame,
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
    requested_keys = (
        published_identifiers(
            requested.rename({"identifier_kind": "kind", "identifier_value": "raw_value"}),
            rules,
            key,
        )
        .select("kind", "value")
        .unique()
    )
    seeds = node_info.join(requested_keys, on=["kind", "value"], how="semi")
    erased_nodes = node_info.join(seeds.select("cluster").unique(), on="cluster", how="semi")
    keys = pl.concat([requested_keys, erased_nodes.select("kind", "value")]).unique()
    return erased_nodes.select("node"), keys


def drop_erased_values(frame: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
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


def merge_causes(merges: pl.DataFrame, accepted: pl.DataFrame, nodes: pl.DataFrame) -> pl.DataFrame:
    """For each retired person, the earliest accepted pair linking it to the rest of its cluster.

    `accepted`: pairs with `low, high, rank` and their provenance columns. Returns
    `surviving_person_id, retired_person_id` plus those provenance columns (null when none).
    """
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
