"""A code location for the stuck-run tests: a job that waits, and the real run monitor (at a
short interval, so the test does not wait a minute per evaluation)."""

import time

import dagster as dg

from pipelines.run_monitor import build_run_monitor_sensor, process_tags


@dg.op
def wait_a_long_time(context: dg.OpExecutionContext) -> None:
    context.log.info("waiting")
    print("waiting", flush=True)
    time.sleep(900)


@dg.job
def waiting():
    wait_a_long_time()


defs = dg.Definitions(
    jobs=[waiting], sensors=[build_run_monitor_sensor(minimum_interval_seconds=5)]
)

if __name__ == "__main__":  # a CLI-style run: executed in this process, tagged with it
    waiting.execute_in_process(
        instance=dg.DagsterInstance.get(), tags=process_tags(), raise_on_error=False
    )
