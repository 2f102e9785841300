"""dbt's structured events (recorded from real dbt 1.11 runs) become one progress line per
model, one per failed or warned test, a running test count, and an error naming the model,
its file and the database's message."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from pipelines.warehouse.dbt_progress import DbtBuildError, DbtProgress, DbtTestsFailed

DATA = Path(__file__).parent / "data"
INFO, WARNING, ERROR = logging.INFO, logging.WARNING, logging.ERROR


def feed(name: str, seconds_per_event: float = 0.5) -> tuple[DbtProgress, list]:
    now = [0.0]
    progress = DbtProgress("dbt 1/2", clock=lambda: now[0])
    lines = []
    for text in (DATA / name).read_text().splitlines():
        now[0] += seconds_per_event
        lines += progress.feed(json.loads(text))
    return progress, lines


def test_a_build_prints_each_model_with_its_position_status_and_time():
    progress, lines = feed("dbt_events_build.jsonl")
    assert lines == [
        (INFO, "dbt 1/2: building 42 nodes with 2 threads"),
        (INFO, "[ 1/42] model staging.stg_shopify__orders OK 0.37 s"),
        (INFO, "dbt 1/2: 1 models built, 3 tests passed so far (0 warned, 0 failed)"),
        (INFO, "dbt 1/2: 1 models built, 8 tests passed so far (0 warned, 0 failed)"),
        (INFO, "[12/42] model intermediate.int_orders_unioned OK 0.39 s"),
        (INFO, "[11/42] model intermediate.int_identity_evidence OK 0.52 s"),
        (INFO, "[13/42] model intermediate.int_shop_arrivals_classified OK 0.31 s"),
        (INFO, "[14/42] model main.zz_bad OK 0.19 s"),
        (INFO, "dbt 1/2: 5 models built, 10 tests passed so far (0 warned, 0 failed)"),
        (INFO, "[42/42] model main.zz_after OK 0.04 s"),
        (INFO, "dbt 1/2: 6 models built, 12 tests passed so far (0 warned, 0 failed)"),
        (INFO, "dbt 1/2: done, 42 passed, 0 warned, 0 errors, 0 skipped of 42"),
    ]
    assert progress.error(0) is None


def test_passing_tests_are_summed_up_not_printed_one_by_one():
    _, quick = feed("dbt_events_build.jsonl", seconds_per_event=0.01)
    tests = [text for _, text in quick if "tests passed so far" in text]
    assert tests == ["dbt 1/2: 6 models built, 12 tests passed so far (0 warned, 0 failed)"]


def test_a_failed_model_is_named_with_its_file_and_database_error():
    progress, lines = feed("dbt_events_failed_model.jsonl")
    assert lines == [
        (INFO, "dbt 1/2: building 2 nodes with 2 threads"),
        (ERROR, "[1/2] model main.zz_bad ERROR 0.11 s"),
        (WARNING, "[2/2] model main.zz_after SKIPPED (an upstream node failed)"),
        (INFO, "dbt 1/2: done, 0 passed, 0 warned, 1 errors, 1 skipped of 2"),
    ]
    error = progress.error(1)
    assert type(error) is DbtBuildError
    assert str(error).splitlines() == [
        "dbt 1/2: dbt could not build zz_bad; 1 downstream node(s) skipped.",
        "- Runtime Error in model zz_bad (models/zz/zz_bad.sql)",
        "  Conversion Error: Could not convert string 'abc' to INT32",
        '  LINE 10:        select cast(\'abc\' as integer) as x from "b"."staging"."stg_shopify...',
        "                         ^",
    ]


def test_failed_and_warned_tests_get_a_line_each_and_failed_ones_fail_the_build():
    progress, lines = feed("dbt_events_failed_tests.jsonl")
    assert (ERROR, "[2/3] test zz_fails FAIL (1 rows)") in lines
    assert (WARNING, "[3/3] test zz_warns WARN (1 rows)") in lines
    error = progress.error(1)
    assert isinstance(error, DbtTestsFailed)
    assert "dbt tests failed: zz_fails (1 rows)" in str(error)
    assert "zz_warns" not in str(error)


def test_a_test_that_errors_is_an_error_with_the_database_message_not_a_failure():
    """A test whose query raises (e.g. DuckDB refusing a setting) judged no rows: the error says
    so and quotes the database, and is not reported as failing rows."""
    progress, lines = feed("dbt_events_errored_test.jsonl")
    assert (ERROR, "[2/3] test zz_errors ERROR") in lines
    assert (ERROR, "[3/3] test zz_fails FAIL (1 rows)") in lines
    error = progress.error(1)
    assert type(error) is DbtBuildError
    assert str(error).splitlines() == [
        "dbt 1/2: dbt could not run the test(s) zz_errors (the test's query raised an error: "
        "no rows were judged); tests failed too: zz_fails (1 rows).",
        "- Runtime Error in test zz_errors (tests/zz_errors.sql)",
        "  Conversion Error: Could not convert string 'abc1' to INT32",
        '  LINE 11:   select x from "zz"."main"."zz_ok" where x = cast(\'abc\' || x as integer)',
        " " * 57 + "^",
    ]


def test_a_failure_without_node_quotes_dbt_errors():
    progress = DbtProgress("dbt 2/2")
    progress.feed(
        {
            "info": {
                "name": "MainEncounteredError",
                "level": "error",
                "msg": "Parsing Error\n  bad yml",
            },
            "data": {},
        }
    )
    assert str(progress.error(2)) == "dbt 2/2: dbt exited with code 2:\nParsing Error\n  bad yml"
