"""64-bit hash keys: for records, raw identifiers and nodes, each checked by a second hash.

A key comes with a fingerprint (the key xor an independent hash of the same columns): two
different strings sharing a key show up as more distinct fingerprints than keys, and the
stitcher retries with the next seed pair (`SEEDS`) instead of silently merging them.
"""

from __future__ import annotations

import polars as pl

from pipelines.identity.columnar import distinct_count
from pipelines.identity.contract import IDENTIFIER, KIND, KIND_BITS

SEEDS = ((0x1D3A, 0x5EED), (0x2B7F, 0x77AA), (0x3C91, 0x9D01))
# node order: one fixed pair, so that it never depends on the attempt (see number_nodes)
NODE_SEEDS = (0x4E0D, 0xF1A7)
MIX = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9)


class HashCollision(RuntimeError):
    """Two different keys share a 64-bit hash under this seed pair; retry with other seeds."""


def mixed_hash(columns: list[str], seed: int) -> pl.Expr:
    """A 64-bit key over several columns: per-column seeded hashes, mixed by odd multipliers."""
    parts = [
        pl.col(column).hash(seed + position) * pl.lit(MIX[position], dtype=pl.UInt64)
        for position, column in enumerate(columns)
    ]
    expression = parts[0]
    for part in parts[1:]:
        expression = expression ^ part
    return expression


def raw_key(seed: int) -> pl.Expr:
    """The raw identifier's key (raw ids are numbered by kind with no further sort)."""
    code = pl.col("identifier_kind").cast(KIND, strict=False).to_physical().fill_null(0)
    return kind_first(code, mixed_hash(IDENTIFIER, seed))


def kind_first(code: pl.Expr, hashed: pl.Expr) -> pl.Expr:
    """A 64-bit key: the kind's code in the top bits, a hash in the others, so that sorting the
    keys groups the kinds in kind order."""
    low = hashed // pl.lit(1 << KIND_BITS, dtype=pl.UInt64)
    return low | code.cast(pl.UInt64) * pl.lit(1 << (64 - KIND_BITS), dtype=pl.UInt64)


def node_key(kinds: pl.Series, values: pl.Series, seed: int) -> pl.Expr:
    """An identifier's node key: its kind, then the hash of its value (nulls included)."""
    return kind_first(pl.lit(kinds).to_physical(), pl.lit(values).hash(seed))


def check_keys(keys: int, prints: pl.Series, what: str) -> None:
    """As many distinct fingerprints as keys, else two different strings share a key."""
    if distinct_count(prints) != keys:
        raise HashCollision(f"{what} keys collide")
