"""Runs whose process died are marked failed, so the next night is not stuck behind them.

The instance runs one run at a time (`QueuedRunCoordinator`, `max_concurrent_runs: 1`). A run
whose process is killed (the CLI's process, or the machine restarting under `make dev`) stays
STARTED forever, and every later scheduled night waits in the queue behind it. Dagster's own
run monitoring cannot see that with the default run launcher (it has no worker health check;
it only enforces the start timeout and the maximum runtime set in `dagster_home/dagster.yaml`).

So every run records which process runs it — the CLI tags its runs with its pid, host and
process start time (`process_tags`); a run the daemon launches logs "Started process for run
(pid: N)" — and `fail_dead_runs` marks a run failed when that process no longer exists on this
host (a process with the same pid started later is another process). It runs at the start of
every CLI run and every minute in the `run_monitor` sensor, which the daemon of `make dev`
evaluates. The failed run gets the run report of any failed run (run_report_on_failure).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import dagster as dg
import psutil
from dagster._core.events import DagsterEventType
from dagster._core.storage.dagster_run import ACTIVE_RUN_STATUSES, RunsFilter

PID_TAG = "journey/pid"
HOST_TAG = "journey/host"
PROCESS_STARTED_TAG = "journey/process_started_at"
CLOCK_SLACK_SECONDS = 2.0
MONITOR_INTERVAL_SECONDS = 60


@dataclass(frozen=True)
class Worker:
    """The process that executes a run: its pid, host and the latest moment it must have been
    started by (a process with this pid created later is a different one)."""

    pid: int
    host: str | None
    started_by: float


def process_tags() -> dict[str, str]:
    """Tags naming this process, for runs executed in it (the CLI)."""
    process = psutil.Process()
    return {
        PID_TAG: str(process.pid),
        HOST_TAG: socket.gethostname(),
        PROCESS_STARTED_TAG: f"{process.create_time():.3f}",
    }


def worker_of(instance: dg.DagsterInstance, run: dg.DagsterRun) -> Worker | None:
    """The run's process, from its tags (CLI runs) or the run worker's start event (runs the
    daemon launched); None when the run says nothing about its process."""
    tags = run.tags
    if PID_TAG in tags:
        try:
            return Worker(
                int(tags[PID_TAG]), tags.get(HOST_TAG), float(tags.get(PROCESS_STARTED_TAG, "inf"))
            )
        except ValueError:
            return None
    events = instance.get_records_for_run(
        run.run_id, of_type=DagsterEventType.ENGINE_EVENT, ascending=False, limit=200
    ).records
    for record in events:
        entry = record.event_log_entry
        event = entry.dagster_event
        message = (event.message if event else None) or entry.user_message or ""
        if event is None or not message.startswith("Started process for run (pid: "):
            continue
        pid = getattr(event.engine_event_data.metadata.get("pid"), "value", None)
        if pid is not None and str(pid).isdigit():
            return Worker(int(pid), None, entry.timestamp)
    return None


def is_alive(worker: Worker) -> bool | None:
    """Whether the worker process still exists; None when it runs on another host."""
    if worker.host is not None and worker.host != socket.gethostname():
        return None
    try:
        process = psutil.Process(worker.pid)
        created = process.create_time()
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # it exists; whose it is cannot be told, so it is left alone
    return created <= worker.started_by + CLOCK_SLACK_SECONDS


def fail_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark every active run whose process is gone as failed; return their run ids."""
    failed = []
    records = instance.get_run_records(filters=RunsFilter(statuses=ACTIVE_RUN_STATUSES))
    for record in records:
        run = record.dagster_run
        worker = worker_of(instance, run)
        if worker is None or is_alive(worker) is not False:
            continue
        current = instance.get_run_by_id(run.run_id)
        if current is None or current.is_finished:
            continue
        instance.report_run_failed(
            current,
            f"The process running this run (pid {worker.pid}) is gone — killed or crashed "
            "without ending the run. Marked failed by the journey run monitor so the next run "
            "can start; the published warehouse is unchanged. Re-run the night "
            "(docs/operations.md, 'When a night fails').",
        )
        failed.append(run.run_id)
    return failed


def build_run_monitor_sensor(
    minimum_interval_seconds: int = MONITOR_INTERVAL_SECONDS,
) -> dg.SensorDefinition:
    """A sensor (evaluated by the daemon) that runs `fail_dead_runs` on its instance."""

    @dg.sensor(
        name="run_monitor",
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Marks runs whose process died as failed, so the next night is not stuck "
        "behind them in the queue (pipelines/run_monitor.py).",
    )
    def run_monitor(context: dg.SensorEvaluationContext):
        failed = fail_dead_runs(context.instance)
        if failed:
            context.log.warning(f"marked failed (their process is gone): {', '.join(failed)}")
        return dg.SkipReason(
            f"{len(failed)} dead run(s) marked failed" if failed else "no dead runs"
        )

    return run_monitor
