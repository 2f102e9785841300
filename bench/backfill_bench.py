"""A 5-year backfill of the demo dataset: seconds from the command to the first vendor request.

    .venv/bin/python -m bench.backfill_bench [--persons 2000] [--seed 7] [--years 5]
                                             [--first-request-only]

Generates the demo dataset once (cached under bench/results/), serves it with the sandbox, and
types the command a user would: `python -m pipelines run --start <end - 5 years> --end <end>
--full-refresh` (JOURNEY_PARTITIONS_START = the start), in a subprocess with its own data,
warehouse and Dagster folders. The sandbox's request log says when the first vendor request
arrived; the figure counts from the moment the command was started (target: 30 s). Then the
run goes on to the end (unless `--first-request-only`) and the bench prints its duration and
the Dagster events it wrote — a run writes a few per asset, however many days it covers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

from bench.extract_bench import ensure_dataset
from devkit.sandbox import SandboxServer
from devkit.vendor_dataset import dataset_end
from pipelines.settings import PROJECT_ROOT

TARGET_SECONDS = 30.0


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def run_events(dagster_home: Path, run_id: str) -> Counter:
    """Events the run wrote to its Dagster instance, by type."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        return Counter(
            entry.dagster_event.event_type_value
            for entry in instance.all_logs(run_id)
            if entry.dagster_event
        )
    finally:
        instance.dispose()


def plan_seconds(first: date, last: date) -> tuple[float, Counter]:
    """Seconds Dagster takes to create a run of the nightly job over `first`..`last` in a fresh
    SQLite instance (recording its plan: one event per asset and check), and those events."""
    import dagster as dg

    from pipelines.assets.common import day_range_tags
    from pipelines.definitions import build_definitions
    from pipelines.jobs import NIGHTLY_JOB

    job = build_definitions().resolve_job_def(NIGHTLY_JOB)
    with tempfile.TemporaryDirectory(prefix="backfill_plan_") as home:
        shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", Path(home) / "dagster.yaml")
        with dg.DagsterInstance.from_config(home) as instance:
            started = time.perf_counter()
            run = instance.create_run_for_job(
                job, tags=day_range_tags(first, last, full_refresh=True)
            )
            seconds = time.perf_counter() - started
            events = Counter(
                entry.dagster_event.event_type_value
                for entry in instance.all_logs(run.run_id)
                if entry.dagster_event
            )
    return seconds, events


def first_request_after(
    sandbox: SandboxServer, process: subprocess.Popen, started_at: float
) -> float | None:
    """Seconds from `started_at` to the sandbox's first request (None: the run ended first)."""
    while True:
        entries = sandbox.request_log
        if entries:
            return min(entry["received_at"] for entry in entries) - started_at
        if process.poll() is not None:
            return None
        time.sleep(0.1)


def stop(process: subprocess.Popen) -> None:
    """End the run's process group: politely, then for sure."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backfill_bench", description=__doc__)
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--dataset", type=Path, default=None, help="use/generate this folder")
    parser.add_argument(
        "--first-request-only", action="store_true", help="stop the run at the first request"
    )
    args = parser.parse_args(argv)

    dataset, origin = ensure_dataset(args.persons, args.seed, args.dataset)
    last = dataset_end(dataset).date()
    first = years_before(last, args.years)
    days = (last - first).days + 1
    print(f"dataset {dataset} ({origin}); backfill {first} .. {last} ({days:,} days)")
    work = Path(tempfile.mkdtemp(prefix="backfill_bench_"))
    dagster_home = work / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", dagster_home / "dagster.yaml")
    command = [
        sys.executable,
        "-m",
        "pipelines",
        "run",
        "--start",
        first.isoformat(),
        "--end",
        last.isoformat(),
        "--full-refresh",
    ]
    log_path = work / "run.log"
    status = 0
    with SandboxServer(dataset) as sandbox:
        environment = {
            **os.environ,
            **sandbox.env(),
            "JOURNEY_DROP_DIR": str(dataset / "drop"),
            "JOURNEY_DATA_DIR": str(work / "data"),
            "JOURNEY_WAREHOUSE_PATH": str(work / "warehouse" / "journey.duckdb"),
            "JOURNEY_PARTITIONS_START": first.isoformat(),
            "DAGSTER_HOME": str(dagster_home),
            "DO_NOT_TRACK": "1",
            "GX_ANALYTICS_ENABLED": "false",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        print(f"before: {load()}")
        print(f"$ {' '.join(command[1:])}", flush=True)
        with log_path.open("w") as log:
            started_at = time.time()
            process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                first_request = first_request_after(sandbox, process, started_at)
                if first_request is None:
                    print(f"no vendor request arrived; the run's output is in {log_path}")
                    status = 1
                else:
                    verdict = "within" if first_request <= TARGET_SECONDS else "OVER"
                    print(
                        f"{args.years}-year backfill of the demo dataset: first vendor request "
                        f"after {first_request:.1f} s ({verdict} the {TARGET_SECONDS:.0f} s "
                        f"target; {load()})",
                        flush=True,
                    )
                if args.first_request_only:
                    stop(process)
                code = process.wait()
            finally:
                stop(process)  # never leave the run behind, whatever happened here
            seconds = time.time() - started_at
    if not args.first_request_only:
        report_path = work / "warehouse" / "reports" / "latest.json"
        if code == 0 and report_path.exists():
            report = json.loads(report_path.read_text())
            events = run_events(dagster_home, report["run_id"])
            print(
                f"the whole backfill: {seconds:.0f} s, published: {report['published']}; "
                f"Dagster events written by the run: {sum(events.values()):,} "
                f"({events['ASSET_MATERIALIZATION_PLANNED']} planned and "
                f"{events['ASSET_MATERIALIZATION']} materializations for "
                f"{days:,} days); {load()}"
            )
        else:
            print(f"the backfill FAILED (exit {code}) after {seconds:.0f} s; output: {log_path}")
            return 1
    shutil.rmtree(work, ignore_errors=True)
    seconds, planned = plan_seconds(first, last)
    print(
        f"of which fixed per run, whatever the range: Dagster records the run's plan "
        f"({planned['ASSET_MATERIALIZATION_PLANNED']} assets, "
        f"{planned['ASSET_CHECK_EVALUATION_PLANNED']} checks) in {seconds:.1f} s ({load()})"
    )
    return status


if __name__ == "__main__":
    raise SystemExit(main())
