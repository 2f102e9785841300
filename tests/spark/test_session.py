"""`stop_session` ends the JVM pyspark started, so the heap the identity step's Spark committed is
returned before the nightly job's in-process executor runs dbt 2/2 on a Spark of its own (at 1M
persons, 13.6 GB left held by a stopped session's JVM); a session started afterwards works, on
a new JVM. Issue 22. Marked `spark`."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.spark


def test_stop_session_ends_the_jvm_and_the_next_session_starts_a_new_one() -> None:
    from pyspark import SparkContext

    from pipelines.spark.identity import spark_session, stop_session

    spark = spark_session("local[1]", "journey-session-test", driver_memory="512m")
    first = SparkContext._gateway.proc  # type: ignore[union-attr]
    assert spark.range(3).count() == 3
    stop_session(spark)
    assert first.poll() is not None, "the stopped session's JVM is still running"
    assert SparkContext._gateway is None
    stop_session(spark)  # again (a session getOrCreate had shared): nothing left to stop

    spark = spark_session("local[1]", "journey-session-test", driver_memory="512m")
    second = SparkContext._gateway.proc  # type: ignore[union-attr]
    try:
        assert second.pid != first.pid
        assert spark.range(5).selectExpr("sum(id) as total").collect()[0]["total"] == 10
    finally:
        stop_session(spark)
    assert second.poll() is not None
