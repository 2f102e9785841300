"""The sort-based primitives against plain numpy on random keys (hypothesis)."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.identity.columnar import (
    distinct_values,
    group_rows,
    is_duplicated,
    is_repeated,
    order_by,
    small_pages,
)

small_keys = st.lists(st.integers(0, 5), min_size=0, max_size=60)


@settings(max_examples=60, deadline=None)
@given(small_keys, st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=60, max_size=60))
def test_order_by_is_the_stable_multi_column_sort(first, second):
    second = second[: len(first)]
    frame = pl.DataFrame({"a": first, "b": second}, schema={"a": pl.UInt64, "b": pl.Int64})
    expected = frame.with_row_index().sort("a", "b", "index", nulls_last=True)["index"]
    assert order_by(frame["a"], frame["b"]).tolist() == expected.to_list()


wide_keys = st.sampled_from(
    [
        (pl.UInt64, st.integers(0, 2**64 - 1)),
        (pl.Int64, st.integers(-(2**63), 2**63 - 1)),
        (pl.Int32, st.integers(-5, 5)),
        (pl.UInt8, st.integers(0, 255)),
        (pl.Boolean, st.booleans()),
        (pl.Datetime("us"), st.integers(-(2**62), 2**62)),
        (pl.Enum(["b", "a", "c"]), st.sampled_from(["a", "b", "c"])),
        (pl.String, st.sampled_from(["", "a", "b", "ab"])),
    ]
)


@settings(max_examples=60, deadline=None)
@given(st.data(), st.lists(wide_keys, min_size=1, max_size=3), st.integers(0, 70))
def test_order_by_is_polars_stable_sort_for_every_key_type(data, columns, rows):
    # every key type the stitcher sorts by, nulls first or last per key
    frame = {}
    for index, (dtype, values) in enumerate(columns):
        draw = data.draw(st.lists(st.one_of(st.none(), values), min_size=rows, max_size=rows))
        if dtype == pl.Datetime("us"):
            frame[f"k{index}"] = pl.Series(draw, dtype=pl.Int64).cast(dtype)
        else:
            frame[f"k{index}"] = pl.Series(draw, dtype=dtype)
    frame = pl.DataFrame(frame)
    nulls_last = data.draw(st.lists(st.booleans(), min_size=frame.width, max_size=frame.width))
    expected = frame.with_row_index().sort(
        frame.columns, nulls_last=nulls_last, maintain_order=True
    )["index"]
    order = order_by(*frame.get_columns(), nulls_last=nulls_last)
    assert order.tolist() == expected.to_list()


@settings(max_examples=60, deadline=None)
@given(small_keys, st.integers(0, 2**63))
def test_group_rows_separates_keys_sharing_high_bits(choices, base):
    # keys differing only in their lowest bits share the prefix the row numbers displace
    keys = pl.Series([base + choice for choice in choices], dtype=pl.UInt64)
    order, runs, distinct = group_rows(keys)
    assert sorted(order.tolist()) == list(range(len(keys)))
    grouped = keys.to_numpy()[order]
    assert distinct == len(set(keys.to_list())) == runs.count
    stops = [*runs.starts[1:], len(keys)] if len(keys) else []
    for start, stop in zip(runs.starts, stops, strict=True):
        assert len(set(grouped[start:stop])) == 1  # one key per run
        assert list(order[start:stop]) == sorted(order[start:stop])  # rows in row order
    assert (np.diff(runs.number) >= 0).all() and len(set(grouped[runs.starts])) == runs.count


@settings(max_examples=60, deadline=None)
@given(small_keys)
def test_is_repeated_is_polars_is_duplicated(choices):
    keys = pl.Series(choices, dtype=pl.UInt64)
    assert is_repeated(keys).to_list() == keys.is_duplicated().to_list()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["", "a", "b", "p_0", "p_00"])), max_size=40))
def test_is_duplicated_is_polars_is_duplicated(values):
    strings = pl.Series(values, dtype=pl.String)
    assert is_duplicated(strings).to_list() == strings.is_duplicated().to_list()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-(2**40), 2**40), max_size=60))
def test_distinct_values_is_numpy_unique(values):
    array = np.array(values, dtype=np.int64)
    assert distinct_values(array).tolist() == np.unique(array).tolist()


def test_small_pages_turns_numpy_huge_pages_off_inside_only():
    setter = np._core.multiarray._set_madvise_hugepage
    previous = setter(True)
    try:
        with small_pages():
            assert setter(False) is False  # off inside (the call returns the setting it found)
        assert setter(True) is True  # restored on exit
    finally:
        setter(previous)
