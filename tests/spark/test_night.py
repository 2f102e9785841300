"""A Spark night that did not finish makes the next dbt invocation rebuild every table
(`pipelines/spark/night.py`): Spark's tables are rewritten in place, so a night that failed
part-way must not be built on incrementally. Pure logic on the marker file (no Spark)."""

from __future__ import annotations

from pathlib import Path

from pipelines.spark.night import MARKER, Invocation, start, succeeded


def _night(spark_dir: Path, run_id: str, *, requested: bool = False) -> tuple[bool, bool]:
    """A whole night that succeeds: each invocation's full_refresh."""
    first = start(spark_dir, run_id, first=True, requested=requested)
    succeeded(spark_dir, run_id, first=True)
    second = start(spark_dir, run_id, first=False, requested=requested)
    succeeded(spark_dir, run_id, first=False)
    return first.full_refresh, second.full_refresh


def test_nights_that_finish_stay_incremental_and_leave_no_marker(tmp_path: Path) -> None:
    assert _night(tmp_path, "run-1") == (False, False)
    assert not (tmp_path / MARKER).exists()
    assert _night(tmp_path, "run-2", requested=True) == (True, True)
    assert _night(tmp_path, "run-3") == (False, False)


def test_a_night_failing_in_its_first_invocation_makes_the_next_night_rebuild(
    tmp_path: Path,
) -> None:
    assert start(tmp_path, "run-1", first=True, requested=False) == Invocation(False)
    # run-1's dbt 1/2 fails: no `succeeded`
    first = start(tmp_path, "run-2", first=True, requested=False)
    assert first.full_refresh
    assert first.reason is not None and "run-1" in first.reason and "dbt 1/2" in first.reason
    succeeded(tmp_path, "run-2", first=True)
    # the second invocation of the rebuilding night rebuilds too, without a reason of its own
    assert start(tmp_path, "run-2", first=False, requested=False) == Invocation(True)
    succeeded(tmp_path, "run-2", first=False)
    assert _night(tmp_path, "run-3") == (False, False)


def test_a_failed_second_invocation_is_rebuilt_by_its_retry(tmp_path: Path) -> None:
    start(tmp_path, "run-1", first=True, requested=False)
    succeeded(tmp_path, "run-1", first=True)
    assert start(tmp_path, "run-1", first=False, requested=False) == Invocation(False)
    # dbt 2/2 fails; Dagster's re-execution from failure is a new run with only that step
    retry = start(tmp_path, "run-1-retry", first=False, requested=False)
    assert retry.full_refresh and retry.reason is not None and "dbt 2/2" in retry.reason
    succeeded(tmp_path, "run-1-retry", first=False)
    assert _night(tmp_path, "run-2") == (False, False)


def test_a_night_stopped_between_its_invocations_is_rebuilt(tmp_path: Path) -> None:
    # dbt 1/2 succeeded, the identity step failed: the next night finds a finished first
    # invocation of another run, and rebuilds both of its own
    start(tmp_path, "run-1", first=True, requested=False)
    succeeded(tmp_path, "run-1", first=True)
    first = start(tmp_path, "run-2", first=True, requested=False)
    assert first.full_refresh and first.reason is not None and "finished" in first.reason
    succeeded(tmp_path, "run-2", first=True)
    assert start(tmp_path, "run-2", first=False, requested=False).full_refresh
    # and a retried first step of the same run rebuilds as well (its first attempt may have
    # dropped buckets before failing)
    succeeded(tmp_path, "run-2", first=False)
    start(tmp_path, "run-3", first=True, requested=False)
    assert start(tmp_path, "run-3", first=True, requested=False).full_refresh
