"""The runner on small pandas frames: every expectation type the suites use passes on good
data and fails on bad data with the right failed row count and the offending rows as sample."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest

from pipelines.quality.row_counts import Baseline
from pipelines.quality.runner import RunInfo, validate_frame
from pipelines.quality.suites import EXPECTATIONS_DIR
from tests.quality.conftest import expectation, make_suite

NOW = datetime(2026, 3, 1, 12, 0)
RUN = RunInfo(run_id="test-run", now=NOW)
EMAIL = r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$"


def _suite_expectation(path: str, check: str) -> dict:
    """One expectation of a real suite file, as written there."""
    suite = json.loads((EXPECTATIONS_DIR / path).read_text())
    return next(e for e in suite["expectations"] if e["meta"]["check"] == check)


CASES = {
    "requester_unless_deleted": (
        _suite_expectation("landing/zendesk/tickets.json", "requester_id_not_null"),
        pd.DataFrame(
            {"id": ["1", "2"], "status": ["open", "deleted"], "requester_id": ["9", None]}
        ),
        pd.DataFrame(
            {
                "id": ["1", "2", "3"],
                "status": ["open", None, "deleted"],
                "requester_id": [None, None, None],
            }
        ),
        2,
        [
            {"id": "1", "status": "open", "requester_id": None},
            {"id": "2", "status": None, "requester_id": None},
        ],
    ),
    "not_null": (
        expectation("expect_column_values_to_not_be_null", "order_id_not_null", column="order_id"),
        pd.DataFrame({"order_id": ["1", "2", "3"], "n": [1, 2, 3]}),
        pd.DataFrame({"order_id": ["1", None, "3", None], "n": [1, 2, 3, 4]}),
        2,
        [{"order_id": None, "n": 2}, {"order_id": None, "n": 4}],
    ),
    "parseable_where_present": (
        expectation(
            "expect_column_values_to_not_be_null",
            "created_at_parseable",
            column="created_at",
            row_condition="created_at__text.notnull()",
            condition_parser="pandas",
        ),
        pd.DataFrame(
            {
                "created_at": pd.to_datetime(["2025-01-01", None]),
                "created_at__text": ["2025-01-01", None],
            }
        ),
        pd.DataFrame(
            {
                "created_at": pd.to_datetime(["2025-01-01", None, None]),
                "created_at__text": ["2025-01-01", "yesterday", None],
            }
        ),
        1,
        [{"created_at": None, "created_at__text": "yesterday"}],
    ),
    "timestamp_in_range": (
        expectation(
            "expect_column_values_to_be_between",
            "created_at_in_range",
            column="created_at",
            min_value="2000-01-01T00:00:00",
            max_value={"$PARAMETER": "now_utc + timedelta(days=1)"},
        ),
        pd.DataFrame({"id": [1, 2], "created_at": pd.to_datetime(["2025-01-01", "2026-03-02"])}),
        pd.DataFrame(
            {
                "id": [1, 2, 3],
                "created_at": pd.to_datetime(["1970-01-01", "2026-03-01", "2026-03-03"]),
            }
        ),
        2,
        [
            {"id": 1, "created_at": "1970-01-01T00:00:00.000"},
            {"id": 3, "created_at": "2026-03-03T00:00:00.000"},
        ],
    ),
    "number_between": (
        expectation(
            "expect_column_values_to_be_between",
            "score_in_range",
            column="score",
            min_value=0,
            max_value=10,
        ),
        pd.DataFrame({"score": [0, 10, None]}),
        pd.DataFrame({"score": [0, 11, -1, 5]}),
        2,
        [{"score": 11}, {"score": -1}],
    ),
    "email_regex": (
        expectation(
            "expect_column_values_to_match_regex",
            "email_valid",
            "warning",
            column="email",
            regex=EMAIL,
        ),
        pd.DataFrame({"email": ["ann@x.com", " Ann@X.com ", None]}),
        pd.DataFrame({"email": ["ann@x.com", "ann at x.com", "bob@", None]}),
        2,
        [{"email": "a***"}, {"email": "b***@"}],  # masked: samples hold no raw e-mails
    ),
    "enumeration": (
        expectation(
            "expect_column_values_to_be_in_set",
            "status_known",
            "warning",
            column="status",
            value_set=["paid", "pending"],
        ),
        pd.DataFrame({"status": ["paid", "pending", None]}),
        pd.DataFrame({"status": ["paid", "PAID", "lost"]}),
        2,
        [{"status": "PAID"}, {"status": "lost"}],
    ),
    "unique": (
        expectation("expect_column_values_to_be_unique", "order_id_unique", column="order_id"),
        pd.DataFrame({"order_id": [1, 2, 3]}),
        pd.DataFrame({"order_id": [1, 2, 2, 3]}),
        2,
        [{"order_id": 2}, {"order_id": 2}],
    ),
    "compound_unique": (
        expectation(
            "expect_compound_columns_to_be_unique",
            "order_model_unique",
            column_list=["order_id", "model"],
        ),
        pd.DataFrame({"order_id": [1, 1, 2], "model": ["first", "last", "first"]}),
        pd.DataFrame({"order_id": [1, 1, 2], "model": ["first", "first", "first"]}),
        2,
        [{"order_id": 1, "model": "first"}, {"order_id": 1, "model": "first"}],
    ),
    "pair_greater_or_equal": (
        expectation(
            "expect_column_pair_values_a_to_be_greater_than_b",
            "exited_after_entered",
            column_A="exited_at",
            column_B="entered_at",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        pd.DataFrame(
            {
                "entered_at": pd.to_datetime(["2025-01-01", "2025-01-02"]),
                "exited_at": pd.to_datetime(["2025-01-01", None]),
            }
        ),
        pd.DataFrame(
            {
                "entered_at": pd.to_datetime(["2025-01-05", "2025-01-02"]),
                "exited_at": pd.to_datetime(["2025-01-01", "2025-01-03"]),
            }
        ),
        1,
        [{"entered_at": "2025-01-05T00:00:00.000", "exited_at": "2025-01-01T00:00:00.000"}],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_expectation_passes_on_good_and_fails_on_bad(case, gx_session):
    raw, good, bad, failed_rows, sample = CASES[case]
    suite = make_suite([raw], name=f"marts.{case}")

    [passed] = validate_frame(suite, good, RUN, session=gx_session)
    assert passed.passed, passed.message
    assert passed.failed_rows == 0
    assert passed.sample == []

    [failed] = validate_frame(suite, bad, RUN, session=gx_session)
    assert not failed.passed
    assert failed.failed_rows == failed_rows
    assert failed.sample == sample
    assert failed.check == raw["meta"]["check"]
    assert failed.severity == raw["meta"]["severity"]
    assert f"failed on {failed_rows} of" in failed.message
    assert "\n" not in failed.message
    json.dumps(failed.metadata())  # JSON-able as it goes into Dagster metadata


def test_sample_holds_at_most_five_rows_and_cuts_long_text(gx_session):
    suite = make_suite(
        [
            expectation(
                "expect_column_values_to_be_in_set", "kind_known", column="kind", value_set=["a"]
            )
        ]
    )
    frame = pd.DataFrame({"kind": ["b"] * 12, "note": ["x" * 500] * 12})
    [outcome] = validate_frame(suite, frame, RUN, session=gx_session)
    assert outcome.failed_rows == 12
    assert len(outcome.sample) == 5
    assert all(len(row["note"]) == 201 for row in outcome.sample)


def test_row_count_bounds_come_from_the_previous_run(gx_session):
    bounds = {"min_ratio": 0.5, "max_ratio": 2.0, "slack_rows": 1}
    suite = make_suite(
        [
            expectation(
                "expect_table_row_count_to_be_between",
                "row_count_vs_previous_run",
                bounds_from_previous_run=bounds,
            )
        ]
    )
    frame = pd.DataFrame({"x": range(10)})
    [first] = validate_frame(suite, frame, RUN, session=gx_session)
    assert first.passed and first.bound == {"min": 0, "max": None}
    assert "no previous run" in first.basis

    previous = Baseline(rows=30, days=1, run_id="yesterday")
    [shrunk] = validate_frame(suite, frame, RUN, previous=previous, session=gx_session)
    assert not shrunk.passed
    assert shrunk.observed == 10
    assert shrunk.bound == {"min": 14, "max": 61}
    assert shrunk.failed_rows is None
    assert "yesterday" in shrunk.message

    [steady] = validate_frame(
        suite, frame, RUN, previous=Baseline(rows=12, days=1, run_id="y"), session=gx_session
    )
    assert steady.passed


def test_two_row_count_bounds_on_one_table_are_both_evaluated(gx_session):
    suite = make_suite(
        [
            expectation(
                "expect_table_row_count_to_be_between",
                "row_count_vs_previous_run",
                "warning",
                bounds_from_previous_run={"min_ratio": 0.5, "max_ratio": 2.0},
            ),
            expectation(
                "expect_table_row_count_to_be_between",
                "row_count_not_collapsed",
                bounds_from_previous_run={"min_ratio": 0.1},
            ),
        ]
    )
    frame = pd.DataFrame({"x": range(20)})
    first = validate_frame(suite, frame, RUN, session=gx_session)  # identical: 0..None
    assert [(o.check, o.passed) for o in first] == [
        ("row_count_vs_previous_run", True),
        ("row_count_not_collapsed", True),
    ]
    previous = Baseline(rows=100, days=1, run_id="yesterday")
    warned, blocked = validate_frame(suite, frame, RUN, previous=previous, session=gx_session)
    assert (warned.passed, warned.bound) == (False, {"min": 50, "max": 200})
    assert (blocked.passed, blocked.bound) == (True, {"min": 10, "max": None})


def test_two_expectations_of_one_type_on_one_column_are_both_kept(gx_session):
    suite = make_suite(
        [
            expectation(
                "expect_column_values_to_be_between",
                "score_not_negative",
                column="score",
                min_value=0,
            ),
            expectation(
                "expect_column_values_to_be_between",
                "score_at_most_ten",
                "warning",
                column="score",
                max_value=10,
            ),
        ]
    )
    outcomes = validate_frame(
        suite, pd.DataFrame({"score": [-1, 5, 11, 12]}), RUN, session=gx_session
    )
    assert [(o.check, o.failed_rows) for o in outcomes] == [
        ("score_not_negative", 1),
        ("score_at_most_ten", 2),
    ]


def test_a_missing_column_fails_the_check_with_the_reason(gx_session):
    suite = make_suite(
        [expectation("expect_column_values_to_not_be_null", "id_not_null", column="id")]
    )
    [outcome] = validate_frame(suite, pd.DataFrame({"other": [1]}), RUN, session=gx_session)
    assert not outcome.passed
    assert "could not be evaluated" in outcome.message and "id" in outcome.message


def test_outcomes_follow_suite_order_with_one_per_expectation(gx_session):
    raws = [
        expectation("expect_column_values_to_be_unique", "b_unique", column="b"),
        expectation("expect_column_values_to_not_be_null", "a_not_null", "warning", column="a"),
        expectation("expect_table_row_count_to_be_between", "rows", min_value=1, max_value=5),
    ]
    suite = make_suite(raws)
    outcomes = validate_frame(
        suite, pd.DataFrame({"a": [1, None], "b": [1, 2]}), RUN, session=gx_session
    )
    assert [(o.check, o.passed, o.severity) for o in outcomes] == [
        ("b_unique", True, "blocking"),
        ("a_not_null", False, "warning"),
        ("rows", True, "blocking"),
    ]


def test_unknown_values_of_an_enumeration_are_counted_exactly(gx_session):
    """A vendor extended an enumeration: the warning names each new value and its rows, all
    of them counted (not just the twenty values GX keeps), most frequent first."""
    suite = make_suite(
        [
            expectation(
                "expect_column_values_to_be_in_set",
                "action_type_known",
                "warning",
                column="action_type",
                value_set=["action", "event"],
            )
        ]
    )
    kinds = ["action"] * 5 + ["search"] * 30 + ["download"] * 3 + ["outlink"] * 3 + [None] * 2
    [outcome] = validate_frame(suite, pd.DataFrame({"action_type": kinds}), RUN, session=gx_session)
    assert not outcome.passed and outcome.failed_rows == 36
    assert outcome.unexpected_values == [
        {"value": "search", "count": 30},
        {"value": "download", "count": 3},
        {"value": "outlink", "count": 3},
    ]
    assert outcome.metadata()["unexpected_values"] == outcome.unexpected_values
