"""Identifier values as the identity tables publish them: normalised, guarded, pseudonymised.

`published_identifiers` is the one way from a raw `kind, raw_value` to the published `value`:
the stitcher, the nightly run, the erasure list and the failed-check samples all use it, so an
identifier typed by a person matches the tables.
"""

from __future__ import annotations

import polars as pl

from pipelines.identity.hashing import hash_hex
from pipelines.identity.normalise import normalise_and_guard
from pipelines.identity.rules import IdentityRules
from pipelines.settings import Secret


def published_identifiers(
    frame: pl.DataFrame, rules: IdentityRules, key: Secret | None
) -> pl.DataFrame:
    """`kind, raw_value` -> adds `value` (normalised, pseudonymised where configured), `block_reason`.

    Rows keep their order.
    """
    guarded = normalise_and_guard(
        frame.rename({"kind": "identifier_kind", "raw_value": "identifier_value"}), rules
    ).rename({"identifier_kind": "kind", "identifier_value": "value"})
    return publish_values(guarded, rules, key)


def publish_values(frame: pl.DataFrame, rules: IdentityRules, key: Secret | None) -> pl.DataFrame:
    """Replace `value` by its keyed hash for the pseudonymised kinds (no-op without a key)."""
    if key is None or not rules.pseudonymize_kinds:
        return frame
    private = (
        pl.col("kind").cast(pl.String).is_in(list(rules.pseudonymize_kinds))
        & pl.col("value").is_not_null()
    )
    distinct = frame.filter(private).select("value").unique()
    hashed = distinct.with_columns(hash_hex(distinct["value"], key).alias("published"))
    return (
        frame.join(hashed, on="value", how="left", maintain_order="left")
        .with_columns(
            pl.when(private).then(pl.col("published")).otherwise(pl.col("value")).alias("value")
        )
        .drop("published")
    )
