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
)

small_keys = st.lists(st.integers(0, 5), min_size=0, max_size=60)


@settings(max_examples=60, deadline=None)
@given(small_keys, st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=60, max_size=60))
def test_order_by_is_the_stable_multi_column_sort(first, second):
    second = second[: len(first)]
    frame = pl.DataFrame({"a": first, "b": second}, schema={"a": pl.UInt64, "b": pl.Int64})
    expected = frame.with_row_index().sort("a", "b", "index", nulls_last=True)["index"]
    assert order_by(frame["a"], frame["b"]).tolist() == expected.to_list()


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
