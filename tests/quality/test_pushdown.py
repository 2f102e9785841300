"""Warehouse suites pushed down to DuckDB (`pipelines/quality/pushdown.py`): every expectation
kind computed there passes on a good frame and fails on a bad one with the exact failed count
and sample, and gives exactly the outcome whole-frame GX gives (same verdict, failed_rows,
sample, observed, bound, message, unexpected values)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from pipelines.privacy.samples import SampleGuard
from pipelines.quality.pushdown import PARTIAL_ROWS, reduce_pandas, supports
from pipelines.quality.row_counts import Baseline
from pipelines.quality.runner import (
    RunInfo,
    resolved_kwargs,
    validate_frame,
    validate_pushed_down,
)
from tests.quality.conftest import expectation, make_suite
from tests.quality.test_runner import CASES

NOW = datetime(2026, 3, 1, 12, 0)
RUN = RunInfo(run_id="test-run", now=NOW)
PUSHED_DOWN = sorted(name for name, case in CASES.items() if supports(make_suite([case[0]])))


def _comparable(outcomes) -> list[dict]:
    return [outcome.as_dict() for outcome in outcomes]


def test_the_kinds_the_mart_suites_use_are_pushed_down():
    assert PUSHED_DOWN == [
        "compound_unique",
        "enumeration",
        "not_null",
        "number_between",
        "pair_greater_or_equal",
        "timestamp_in_range",
        "unique",
    ]
    # a row condition (landing "parseable where present") stays whole-frame GX
    assert not supports(make_suite([CASES["parseable_where_present"][0]]))


@pytest.mark.parametrize("case", PUSHED_DOWN)
def test_pushed_down_check_passes_on_good_and_fails_on_bad(case, gx_session):
    raw, good, bad, failed_rows, sample = CASES[case]
    suite = make_suite([raw], name=f"marts.{case}")

    [passed] = validate_pushed_down(suite, good, RUN, session=gx_session)
    assert passed.passed, passed.message
    assert passed.failed_rows == 0
    assert passed.sample == []
    assert passed.rows == len(good)

    [failed] = validate_pushed_down(suite, bad, RUN, session=gx_session)
    assert not failed.passed
    assert failed.failed_rows == failed_rows
    assert failed.sample == sample
    assert failed.rows == len(bad)
    assert f"failed on {failed_rows} of {len(bad)} rows" in failed.message


@pytest.mark.parametrize("case", PUSHED_DOWN)
def test_pushed_down_outcome_equals_whole_frame_outcome(case, gx_session):
    raw, good, bad, _, _ = CASES[case]
    suite = make_suite([raw], name=f"marts.{case}")
    for frame in (good, bad):
        assert _comparable(validate_pushed_down(suite, frame, RUN, session=gx_session)) == (
            _comparable(validate_frame(suite, frame, RUN, session=gx_session))
        )


def _big_frame(rows: int = 500) -> pd.DataFrame:
    """Many offenders per check (more than GX keeps), nulls, NaN, duplicates, ties."""
    index = np.arange(rows)
    entered = pd.Timestamp("2025-01-01") + pd.to_timedelta(index % 97, unit="D")
    exited = entered + pd.to_timedelta((index % 7) - 2, unit="D")
    return pd.DataFrame(
        {
            "id": [f"r{i % 430}" if i % 11 else None for i in index],
            "person_id": [f"p{i % 60}" for i in index],
            "spell": (index % 9).astype("int64"),
            "kind": [["email", "phone", "fax", "telex", None][i % 5] for i in index],
            "ratio": np.where(index % 13 == 0, np.nan, (index % 17) / 10.0),
            "step": (index % 4).astype("int64"),
            "entered_at": entered,
            "exited_at": exited.where(index % 6 != 0),
            "occurred_at": entered.where(index % 29 != 0, pd.Timestamp("2030-01-01")),
        }
    )


MART_LIKE = [
    expectation("expect_column_values_to_be_unique", "id_unique", column="id"),
    expectation("expect_column_values_to_not_be_null", "id_not_null", column="id"),
    expectation("expect_column_values_to_not_be_null", "ratio_not_null", column="ratio"),
    expectation(
        "expect_compound_columns_to_be_unique",
        "person_spell_unique",
        column_list=["person_id", "spell"],
    ),
    expectation(
        "expect_column_values_to_be_in_set",
        "known_kind",
        severity="warning",
        column="kind",
        value_set=["email", "phone"],
    ),
    expectation(
        "expect_column_values_to_be_between", "ratio_bounded", column="ratio", max_value=1.2
    ),
    expectation(
        "expect_column_values_to_be_between", "step_is_one", column="step", min_value=1, max_value=1
    ),
    expectation(
        "expect_column_values_to_be_between",
        "occurred_in_range",
        column="occurred_at",
        min_value="2000-01-01T00:00:00",
        max_value={"$PARAMETER": "now_utc + timedelta(days=1)"},
    ),
    expectation(
        "expect_column_pair_values_a_to_be_greater_than_b",
        "exited_after_entered",
        column_A="exited_at",
        column_B="entered_at",
        or_equal=True,
        ignore_row_if="either_value_is_missing",
    ),
    expectation(
        "expect_column_pair_values_a_to_be_greater_than_b",
        "exited_strictly_after",
        severity="warning",
        column_A="exited_at",
        column_B="entered_at",
    ),
    expectation(
        "expect_table_row_count_to_be_between",
        "rows_not_collapsed",
        bounds_from_previous_run={"min_ratio": 0.5},
    ),
    expectation(
        "expect_table_row_count_to_be_between",
        "rows_not_exploded",
        severity="warning",
        bounds_from_previous_run={"max_ratio": 1.5},
    ),
]


@pytest.mark.parametrize("previous_rows", [None, 300, 2000])
def test_a_mart_like_suite_with_many_offenders_equals_whole_frame_gx(previous_rows, gx_session):
    suite = make_suite(MART_LIKE, name="marts.mart_like")
    frame = _big_frame()
    previous = (
        Baseline(rows=previous_rows, days=1, run_id="before", full_refresh=False)
        if previous_rows
        else None
    )
    guard = SampleGuard(None)
    pushed = validate_pushed_down(suite, frame, RUN, previous=previous, session=gx_session)
    whole = validate_frame(suite, frame, RUN, previous=previous, session=gx_session)
    assert all(o.failed_rows for o in whole if o.failed_rows is not None)  # all row checks fail
    assert _comparable(pushed) == _comparable(whole)
    assert guard  # samples were protected the same way (masked) on both paths


def test_only_the_offending_rows_reach_pandas():
    suite = make_suite(MART_LIKE, name="marts.mart_like")
    frame = _big_frame(5000)
    reduced = reduce_pandas(frame, suite, resolved_kwargs(suite, RUN))
    assert reduced.rows == 5000
    checks = sum(1 for spec in suite.expectations if spec.type.startswith("expect_col"))
    # at most PARTIAL_ROWS offenders per check, plus the partner rows of duplicates
    assert len(reduced.frame) <= checks * PARTIAL_ROWS * 2
    assert list(reduced.frame.index) == sorted(reduced.frame.index)
    assert reduced.counts["known_kind"].unexpected_values == [
        {"value": "fax", "count": 1000},
        {"value": "telex", "count": 1000},
    ]


def test_a_missing_column_fails_only_its_check(gx_session):
    suite = make_suite(
        [
            expectation("expect_column_values_to_not_be_null", "id_not_null", column="id"),
            expectation("expect_column_values_to_not_be_null", "gone_not_null", column="gone"),
        ]
    )
    ok, gone = validate_pushed_down(
        suite, pd.DataFrame({"id": ["a", "b"]}), RUN, session=gx_session
    )
    assert ok.passed
    assert not gone.passed
    assert "could not be evaluated" in gone.message
    assert "gone" in gone.message


def test_a_value_duckdb_cannot_convert_fails_only_its_check():
    """A bound that binds but fails when the scan runs (a text bound on a timestamp column that
    is not a time) is that check's error (the runner reports it as not evaluable); the suite's
    other checks keep their exact counts."""
    suite = make_suite(
        [
            expectation("expect_column_values_to_not_be_null", "id_not_null", column="id"),
            expectation(
                "expect_column_values_to_be_between",
                "seen_between",
                column="seen_at",
                min_value="not a time",
                max_value="2030-01-01",
            ),
        ]
    )
    seen = pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"])
    frame = pd.DataFrame({"id": ["a", None, "c"], "seen_at": seen})
    reduced = reduce_pandas(frame, suite, resolved_kwargs(suite, RUN))
    assert reduced.rows == 3
    assert reduced.counts["id_not_null"].unexpected == 1
    assert "seen_between" not in reduced.counts
    assert reduced.errors["seen_between"].startswith("ConversionException"), reduced.errors
    assert reduced.counts["id_not_null"].positions == (1,)


def test_a_suite_duckdb_does_not_compute_is_refused_not_half_checked():
    suite = make_suite([CASES["parseable_where_present"][0]])
    frame = CASES["parseable_where_present"][1]
    with pytest.raises(ValueError, match="validate it with validate_frame"):
        validate_pushed_down(suite, frame, RUN)
