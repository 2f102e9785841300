"""Sort-based columnar primitives for tens of millions of rows (numpy plus Polars' sorts).

On two cores, a hash group-by over tens of millions of rows with millions of distinct keys, or
a multi-column sort, is several times slower than sorting one column; numpy sorts a uint64
array in place (AVX-512 / AVX2 sorting networks) several times faster still than any argsort.
So the stitcher groups rows by sorting a 64-bit key with the row number packed into its low
bits (`group_rows`) and works on runs of equal keys (`Runs`); a multi-column order is composed
of stable single-column sorts, least significant key first (`order_by`), which gives exactly
the multi-column sort's order.

Index arrays are numpy `uint32`; `MISSING` stands for "none" (a blocked identifier has no node).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import polars as pl

MISSING = np.uint32(0xFFFF_FFFF)
EARLIEST = np.iinfo(np.int64).min
LATEST = np.iinfo(np.int64).max
ROW_NUMBER_CHUNK = 1 << 20


def order_by(*keys: pl.Series, nulls_last: bool | Sequence[bool] = True) -> np.ndarray:
    """The permutation sorting rows by `keys` (most significant first); ties keep row order."""
    flags = [nulls_last] * len(keys) if isinstance(nulls_last, bool) else list(nulls_last)
    order: np.ndarray | None = None
    for key, last in zip(reversed(keys), reversed(flags), strict=True):
        column = key if order is None else key.gather(order)
        step = (
            pl.DataFrame({"key": column})
            .select(pl.arg_sort_by("key", nulls_last=last, maintain_order=True))
            .to_series()
            .to_numpy()
        )
        order = step if order is None else order[step]
    return order if order is not None else np.zeros(0, dtype=np.uint32)


def group_rows(key: pl.Series) -> tuple[np.ndarray, Runs, int]:
    """Rows grouped by a 64-bit key: an order putting equal keys together (each group in row
    order), the runs of groups in that order, and the number of distinct keys.

    numpy sorts a uint64 array in place several times faster than any argsort, so the row
    number is packed into the low bits of the key and the packed values are sorted. Different
    keys that share their remaining high bits (a few dozen among tens of millions of 64-bit
    hashes) are told apart afterwards by their full keys, found by sorting the keys themselves
    in the same buffer.
    """
    keys = key.to_numpy()
    count = len(keys)
    if count >= 1 << 32:
        raise ValueError(f"{count} rows: row numbers beyond uint32 are not supported")
    shift = np.uint64(max(1, (count - 1).bit_length()))
    packed = np.right_shift(keys, shift)
    np.left_shift(packed, shift, out=packed)
    for start in range(0, count, ROW_NUMBER_CHUNK):  # row numbers chunk by chunk (no 8 B/row copy)
        stop = min(start + ROW_NUMBER_CHUNK, count)
        packed[start:stop] |= np.arange(start, stop, dtype=np.uint64)
    packed.sort()
    order = packed.astype(np.uint32)  # the low 32 bits hold the row number
    order &= np.uint32((1 << int(shift)) - 1)
    packed >>= shift
    first = _run_starts(packed)
    starts = np.flatnonzero(first)
    packed[:] = keys
    packed.sort()
    distinct = packed[_run_starts(packed)]
    del packed
    if len(distinct) != len(starts):  # some prefixes are shared by different keys
        shared = distinct >> shift
        shared = distinct_values(shared[1:][shared[1:] == shared[:-1]])
        prefixes = keys[order[starts]] >> shift
        mixed = np.flatnonzero(pl.Series(prefixes).is_in(pl.Series(shared)).to_numpy())
        lengths = np.append(starts[1:], count)[mixed] - starts[mixed]
        group = np.repeat(np.arange(len(mixed)), lengths)
        positions = np.repeat(starts[mixed], lengths) + (
            np.arange(len(group)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        )
        rows = order[positions]
        order[positions] = rows[np.lexsort((rows, keys[rows], group))]
        full = keys[order[positions]]
        split = np.flatnonzero((full[1:] != full[:-1]) & (group[1:] == group[:-1])) + 1
        first[positions[split]] = True
        starts = np.flatnonzero(first)
    number = np.cumsum(first, dtype=np.uint32)
    number -= np.uint32(1)
    return order, Runs(starts, number), len(distinct)


def _run_starts(sorted_values: np.ndarray) -> np.ndarray:
    first = np.empty(len(sorted_values), dtype=bool)
    first[:1] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=first[1:])
    return first


@dataclass
class Runs:
    """Runs of equal values in a sorted array: where each starts, and the run of each position."""

    starts: np.ndarray
    number: np.ndarray  # uint32, per position

    @classmethod
    def of(cls, sorted_values: np.ndarray) -> Runs:
        first = _run_starts(sorted_values)
        number = np.cumsum(first, dtype=np.uint32)
        number -= 1
        return cls(np.flatnonzero(first), number)

    @property
    def count(self) -> int:
        return len(self.starts)

    def reduce(
        self, ufunc: np.ufunc, values: np.ndarray, dtype: np.typing.DTypeLike | None = None
    ) -> np.ndarray:
        """`ufunc` over each run of `values` (aligned with the sorted array)."""
        if not len(self.starts):
            return np.zeros(0, dtype=dtype or values.dtype)
        return ufunc.reduceat(values, self.starts, dtype=dtype)


def datetime_ints(series: pl.Series, null_as: int) -> np.ndarray:
    """Microseconds of a Datetime column as int64, nulls replaced by `null_as`."""
    return series.to_physical().fill_null(null_as).to_numpy()


def datetimes(values: np.ndarray, null_at: int, name: str) -> pl.Series:
    """int64 microseconds back to Datetime("us"), `null_at` back to null."""
    series = pl.Series(name, values, dtype=pl.Int64)
    return pl.select(
        pl.when(series != null_at).then(series).cast(pl.Datetime("us")).alias(name)
    ).to_series()


def seen_range(
    groups: np.ndarray, count: int, instants: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per group 0..count-1 the earliest and latest of `instants` (int64 microseconds, nulls as
    LATEST), as int64 with nulls as LATEST / EARLIEST (see `datetimes`).

    Nulls are ignored like in Polars' min/max; a group of nulls (or none) gives null. Scattered
    minima and maxima (`ufunc.at`) cost half a gather of the instants into group order.
    """
    nulls = instants == LATEST
    latest = np.where(nulls, EARLIEST, instants) if nulls.any() else instants
    last = np.full(count, EARLIEST, dtype=np.int64)
    np.maximum.at(last, groups, latest)
    return group_minimum(groups, instants, count, LATEST), last


def distinct_values(values: np.ndarray) -> np.ndarray:
    """`np.unique(values)` by a sort: numpy 2's hash-based unique is about 100 times slower on
    millions of 64-bit integers."""
    ordered = np.sort(values)
    return ordered[_run_starts(ordered)]


def distinct_count(values: pl.Series) -> int:
    """How many distinct values an integer column holds (a sort in place, then comparisons)."""
    ordered = values.to_numpy()
    if not ordered.flags.writeable:  # a view of the series' memory (else already a copy)
        ordered = ordered.copy()
    ordered.sort()
    return int(_run_starts(ordered).sum())


def is_repeated(keys: pl.Series) -> pl.Series:
    """Whether each row's integer key occurs more than once: a plain sort finds the repeated
    keys (usually none), and only those are looked up."""
    ordered = np.sort(keys.to_numpy())
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(repeated):
        return pl.Series(keys.name, np.zeros(len(keys), dtype=bool))
    return keys.is_in(pl.Series(distinct_values(repeated)))


def is_duplicated(values: pl.Series) -> pl.Series:
    """`values.is_duplicated()` for millions of strings: rows are compared by 64-bit hash first
    (sorted, not hashed into a table), and only rows sharing a hash are compared as strings."""
    candidates = np.flatnonzero(is_repeated(values.hash()).to_numpy())
    duplicated = np.zeros(len(values), dtype=bool)
    duplicated[candidates] = values.gather(candidates).is_duplicated().to_numpy()
    return pl.Series(values.name, duplicated)


def group_minimum(groups: np.ndarray, values: np.ndarray, count: int, empty: object) -> np.ndarray:
    """Per group 0..count-1 the minimum of `values` (`empty` where a group has none)."""
    minimum = np.full(count, empty, dtype=values.dtype)
    np.minimum.at(minimum, groups, values)
    return minimum


def index_or_null(index: np.ndarray) -> pl.Series:
    """A gather index with `MISSING` as null (gathering a null index gives null)."""
    series = pl.Series(index, dtype=pl.UInt32)
    return pl.select(pl.when(series != MISSING).then(series)).to_series()


@contextmanager
def small_pages() -> Iterator[None]:
    """Inside: numpy's large arrays on ordinary 4 KB pages, not transparent huge pages.

    numpy asks the kernel for huge pages (madvise) for every large array; the stitcher's
    short-lived arrays then cost ~8 % more resident memory (20 M edges: median peak 7.6 -> 7.0 GB)
    for no gain in time (DECISIONS.md). The previous setting is restored on exit.
    """
    core = getattr(np, "_core", None) or getattr(np, "core", None)  # numpy 2 / numpy 1
    setter = getattr(getattr(core, "multiarray", None), "_set_madvise_hugepage", None)
    if setter is None:
        yield
        return
    previous = setter(False)
    try:
        yield
    finally:
        setter(previous)
