"""Pairwise precision and recall of an identity_map against ground truth (contracts §6.7).

Elements are the truth rows (one per identifier in its exact export form). Two elements are a
true pair when they share a `person_key`, a predicted pair when their normalised identifiers
map to one `person_id`. An element whose identifier is not in the map (blocked, or never
observed as evidence) is a person of its own. Counted from a contingency table, no pair lists.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

Normalise = Callable[[pl.DataFrame], pl.DataFrame]


def _pairs(counts: pl.Expr) -> pl.Expr:
    return (counts.cast(pl.Int64) * (counts.cast(pl.Int64) - 1) // 2).sum()


def pairwise_scores(
    truth: pl.DataFrame,
    identity_map: pl.DataFrame,
    normalise: Normalise,
    *,
    exclude_bots: bool = True,
) -> dict:
    """`precision, recall, f1` plus the counts behind them.

    `normalise` turns a frame of `identifier_kind, identifier_value` (export form) into the
    published form, e.g. `lambda f: normalise_identifiers(f, rules)` — the stitcher's own
    function. Bots (`person_key` starting `bot-`) are excluded by default: the evidence leaves
    bot visits out, so they are never stitched.
    """
    elements = truth.select("person_key", "identifier_kind", "identifier_value").unique()
    if exclude_bots:
        elements = elements.filter(~pl.col("person_key").str.starts_with("bot-"))
    elements = elements.with_row_index("element").with_columns(
        pl.col("identifier_value").alias("raw_value")
    )
    normalised = normalise(elements.select("element", "identifier_kind", "identifier_value"))
    predicted = normalised.join(
        identity_map.select("identifier_kind", "identifier_value", "person_id"),
        on=["identifier_kind", "identifier_value"],
        how="left",
    ).select("element", "person_id")
    joined = elements.join(predicted, on="element").with_columns(
        pl.coalesce("person_id", pl.lit("unmapped:") + pl.col("element").cast(pl.String)).alias(
            "predicted"
        )
    )
    true_pairs = joined.group_by("person_key").len().select(_pairs(pl.col("len"))).item()
    predicted_pairs = joined.group_by("predicted").len().select(_pairs(pl.col("len"))).item()
    both = joined.group_by("person_key", "predicted").len().select(_pairs(pl.col("len"))).item()
    precision = both / predicted_pairs if predicted_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_pairs": int(true_pairs),
        "predicted_pairs": int(predicted_pairs),
        "correct_pairs": int(both),
        "elements": joined.height,
        "unmapped_elements": joined.filter(pl.col("person_id").is_null()).height,
        "true_persons": joined["person_key"].n_unique(),
        "predicted_persons": joined["predicted"].n_unique(),
    }
