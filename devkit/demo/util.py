"""Small vectorised helpers shared by the generator modules: random streams, ids, formats."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

DAY = 86_400
HOUR = 3_600
MINUTE = 60

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class Period:
    """The simulated period: `start` inclusive, `end` exclusive, both unix seconds (UTC)."""

    start: int
    end: int
    first_day: date
    last_day: date

    @classmethod
    def from_dates(cls, first_day: date, last_day: date) -> Period:
        if last_day < first_day:
            raise ValueError(f"period end {last_day} is before its start {first_day}")
        start = int(
            datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC).timestamp()
        )
        end = int(
            (
                datetime(last_day.year, last_day.month, last_day.day, tzinfo=UTC)
                + timedelta(days=1)
            ).timestamp()
        )
        return cls(start, end, first_day, last_day)

    @property
    def days(self) -> int:
        return (self.end - self.start) // DAY


class Streams:
    """Independent, named random streams: changing one generator step leaves the others' draws alone."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, name: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])


def mix(index: np.ndarray, salt: int, bits: int = 64) -> np.ndarray:
    """A bijection of [0, 2**bits): distinct indexes give distinct, random-looking values."""
    mask = np.uint64((1 << bits) - 1) if bits < 64 else _MASK64
    x = (index.astype(np.uint64) + np.uint64(salt)) & mask
    half = np.uint64(bits // 2)
    with np.errstate(over="ignore"):
        for multiplier in (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB):
            x = (x * np.uint64(multiplier | 1)) & mask
            x ^= x >> half
    return x


def hex_ids(index: np.ndarray, salt: int, length: int) -> pl.Series:
    """Unique lower-case hex strings of `length` (≤ 16) chars, one per distinct index."""
    value = mix(index, salt, bits=4 * length)
    shifts = (np.arange(length - 1, -1, -1, dtype=np.uint64) * np.uint64(4))[None, :]
    nibbles = ((value[:, None] >> shifts) & np.uint64(15)).astype(np.uint8)
    chars = (
        _HEX[nibbles].copy().view(f"S{length}").ravel()
        if len(value)
        else np.array([], f"S{length}")
    )
    return pl.Series(chars).cast(pl.String) if len(value) else pl.Series([], dtype=pl.String)


def long_hex_ids(index: np.ndarray, salt: int, length: int = 32) -> pl.Series:
    """Unique hex strings longer than 16 chars (tokens): two mixed halves."""
    head = hex_ids(index, salt, 16)
    tail = hex_ids(index, salt ^ 0x5DEECE66D0000, length - 16)
    return head + tail


def daytime_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds after midnight UTC, weighted towards European waking hours."""
    weights = np.array(
        [1, 0.5, 0.3, 0.3, 0.4, 0.8, 2, 4, 6, 7, 7, 7, 7, 7, 7, 6, 6, 6, 7, 8, 8, 6, 4, 2],
        dtype=float,
    )
    hours = rng.choice(24, size=n, p=weights / weights.sum())
    return hours * HOUR + rng.integers(0, HOUR, size=n)


def lognormal_seconds(
    rng: np.random.Generator, n: int, median: float, sigma: float, low: float, high: float
) -> np.ndarray:
    return np.clip(np.exp(np.log(median) + sigma * rng.standard_normal(n)), low, high).astype(
        np.int64
    )


def pick(rng: np.random.Generator, n: int, weights: dict | list | np.ndarray) -> np.ndarray:
    """Indexes into `weights` (a list or the values of a dict), drawn by weight."""
    w = np.asarray(list(weights.values()) if isinstance(weights, dict) else weights, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def chance(rng: np.random.Generator, n: int, p: float | np.ndarray) -> np.ndarray:
    return rng.random(n) < p


def exact_share(
    rng: np.random.Generator, candidates: np.ndarray, share: float, minimum: int = 0
) -> np.ndarray:
    """A boolean mask over `candidates` (a boolean mask) selecting round(share·count) of them at random."""
    index = np.flatnonzero(candidates)
    k = min(len(index), max(minimum, round(share * len(index))))
    mask = np.zeros(len(candidates), dtype=bool)
    mask[rng.choice(index, size=k, replace=False)] = True
    return mask


# ---- formats (vendor timestamp conventions, contracts §1) -------------------------------------


def utc(col: str | pl.Expr) -> pl.Expr:
    """Unix seconds → datetime[us, UTC]."""
    expr = pl.col(col) if isinstance(col, str) else col
    return pl.from_epoch(expr, time_unit="s").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def iso_offset_utc(col: str | pl.Expr) -> pl.Expr:
    """Mailchimp: `2026-03-04T10:11:12+00:00`."""
    return utc(col).dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def iso_shop(col: str | pl.Expr) -> pl.Expr:
    """Shopify: ISO-8601 in the shop's time zone with its offset, e.g. `2026-03-04T11:11:12+01:00`."""
    return utc(col).dt.convert_time_zone("Europe/Berlin").dt.strftime("%Y-%m-%dT%H:%M:%S%:z")


def iso_z(col: str | pl.Expr) -> pl.Expr:
    """Zendesk and file drops: `2026-03-04T10:11:12Z`."""
    return utc(col).dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def money(cents: str | pl.Expr) -> pl.Expr:
    """Integer cents → decimal string with two places (`49.90`, `-4.90`)."""
    expr = pl.col(cents) if isinstance(cents, str) else cents
    size = expr.abs()
    sign = pl.when(expr < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.format("{}{}.{}", sign, size // 100, (size % 100).cast(pl.String).str.zfill(2))


def rank_in_groups(counts: np.ndarray) -> np.ndarray:
    """0, 1, … within each group of consecutive rows (group sizes `counts`)."""
    counts = np.asarray(counts, dtype=np.int64)
    return np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)


def group_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at every group of consecutive rows (group sizes `counts`)."""
    counts = np.asarray(counts, dtype=np.int64)
    total = np.cumsum(values)
    before = (total - values)[np.cumsum(counts[counts > 0]) - counts[counts > 0]]
    return total - np.repeat(before, counts[counts > 0])


def lookup(frame: pl.DataFrame, other: pl.DataFrame, on: str | list[str]) -> pl.DataFrame:
    """Left join that keeps the left frame's row order (row order feeds the random draws)."""
    return frame.join(other, on=on, how="left", maintain_order="left")


def nullable(condition: pl.Expr, value: pl.Expr) -> pl.Expr:
    return pl.when(condition).then(value).otherwise(None)
