"""Row-count bounds from the previous run, and when a run's count becomes the next baseline."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pipelines.quality.row_counts import Baseline, read_baselines, record_baseline, resolve_bounds
from pipelines.quality.runner import QualityPaths, RunInfo, run_suites
from pipelines.quality.suites import RowCountBounds
from tests.quality.conftest import expectation, make_suite


@pytest.mark.parametrize(
    ("bounds", "previous", "days", "full_refresh", "expected"),
    [
        (RowCountBounds(0.5, 2.0, 10), None, 1, False, (0, None)),
        (RowCountBounds(0.5, 2.0, 10), Baseline(100, 1, "r"), 1, False, (40, 210)),
        (RowCountBounds(0.1, None, 100), Baseline(100, 1, "r"), 1, False, (0, None)),
        # per partition day: a 10-day backfill of 1000 rows, then a 1-day run
        (
            RowCountBounds(0.5, 2.0, 0, per_run_day=True),
            Baseline(1000, 10, "r"),
            1,
            False,
            (50, 200),
        ),
        (
            RowCountBounds(0.5, 2.0, 0, per_run_day=True),
            Baseline(1000, 10, "r", True),
            1,
            False,
            (0, None),
        ),
        (
            RowCountBounds(0.5, 2.0, 0, per_run_day=True),
            Baseline(1000, 10, "r"),
            1,
            True,
            (0, None),
        ),
        # a whole-stream count compares across a full refresh
        (RowCountBounds(0.9, None, 0), Baseline(1000, 10, "r", True), 1, False, (900, None)),
    ],
)
def test_resolve_bounds(bounds, previous, days, full_refresh, expected):
    resolved = resolve_bounds(bounds, previous, days=days, full_refresh=full_refresh)
    assert (resolved.min_value, resolved.max_value) == expected
    assert resolved.explanation


def test_record_and_read_baselines(tmp_path):
    path = tmp_path / "state" / "quality_row_counts.json"
    assert read_baselines(path) == {}
    record_baseline(path, "a", rows=5, days=2, run_id="r1", full_refresh=False)
    record_baseline(path, "b", rows=7, days=1, run_id="r1", full_refresh=True)
    record_baseline(path, "a", rows=6, days=1, run_id="r2", full_refresh=False)
    assert read_baselines(path) == {
        "a": Baseline(6, 1, "r2", False),
        "b": Baseline(7, 1, "r1", True),
    }
    path.write_text("{not json")
    with pytest.raises(ValueError, match="delete it"):
        read_baselines(path)


def _paths(tmp_path) -> QualityPaths:
    return QualityPaths(
        landing_dir=tmp_path / "landing",
        warehouse_path=tmp_path / "w.duckdb",
        state_file=tmp_path / "state" / "quality_row_counts.json",
        docs_dir=tmp_path / "docs" / "gx",
    )


def test_a_blocking_collapse_keeps_the_old_baseline(tmp_path):
    suite = make_suite(
        [
            expectation(
                "expect_table_row_count_to_be_between",
                "row_count_not_collapsed",
                bounds_from_previous_run={"min_ratio": 0.5},
            )
        ],
        name="marts.counted",
    )
    paths = _paths(tmp_path)

    def run(run_id: str, rows: int) -> bool:
        frame = pd.DataFrame({"x": range(rows)})
        [outcome] = run_suites([suite], paths, RunInfo(run_id=run_id), frame_loader=lambda _: frame)
        return outcome.passed

    assert run("r1", 100)  # first run: nothing to compare with
    assert run("r2", 60)
    assert not run("r3", 10)  # collapsed: blocked, the baseline stays 60
    assert not run("r4", 10)  # ...and keeps failing until someone looks
    assert json.loads(paths.state_file.read_text())["marts.counted"]["rows"] == 60
    assert run("r5", 40)
