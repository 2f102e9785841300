"""A night at scale: a full refresh, then the next night, of the real job against the sandbox.

    .venv/bin/python -m bench.nightly_bench --persons 20000      # or: make bench-nightly SIZE=20000

Generates (or reuses) a demo dataset and serves it as the four vendor APIs (`devkit.sandbox`,
clock at the end of the dataset's second-to-last day) — or, with `--land direct` (sizes whose
sandbox does not fit in memory, e.g. 1M persons), lands each night straight into landing
(`bench.direct_landing`: what cursor-based extraction and the Mailchimp window would deliver,
then compaction) and runs the job with no vendor configured, so the figures leave out the HTTP
extraction and the vendor streams' landing checks; the landing itself is printed apart. Runs `python -m pipelines run --date
<that day> --full-refresh` in a child process; moves the sandbox clock to the end of the last
day and runs `python -m pipelines run --date <last day>` (the next night: one new day of data).
For each run and each of its steps (the run report's stages) it prints wall seconds, CPU
seconds (user + system of the run's whole process tree) and peak RSS (the tree's summed
resident memory, sampled every 0.2 s), the night / full-refresh ratio, the load average of the
machine while it ran (the machine may be shared: figures under load are slower), and the
slowest dbt models of each run (dbt's run_results.json). Issue 17's targets: the next night
≤ 10 % of the full refresh; fixed overhead at 2k persons < 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import psutil

from bench.warehouse_bench import demo_dataset
from devkit.vendor_dataset import dataset_end
from pipelines.settings import PROJECT_ROOT, Settings

RESULTS = Path(__file__).resolve().parent / "results" / "nightly"
SAMPLE_SECONDS = 0.2


@dataclass
class Sampler:
    """Samples a process tree: (time, CPU seconds of every process ever seen, summed RSS)."""

    pid: int
    samples: list[tuple[float, float, int]] = field(default_factory=list)
    dbt_results: list[dict] = field(default_factory=list)
    run_results: Path | None = None
    stale_invocation: str | None = None  # the previous run's run_results.json: not this run's
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._collect_run_results()

    def _loop(self) -> None:
        cpu: dict[int, float] = {}
        processes: dict[int, psutil.Process] = {}
        while not self._stop.is_set():
            rss = 0
            try:
                root = processes.setdefault(self.pid, psutil.Process(self.pid))
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                tree = []
            for process in tree:
                try:
                    process = processes.setdefault(process.pid, process)
                    with process.oneshot():
                        times = process.cpu_times()
                        cpu[process.pid] = times.user + times.system
                        rss += process.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            self.samples.append((time.time(), sum(cpu.values()), rss))
            self._collect_run_results()
            self._stop.wait(SAMPLE_SECONDS)

    def _collect_run_results(self) -> None:
        """Each dbt invocation rewrites run_results.json: keep every version."""
        if self.run_results is None or not self.run_results.exists():
            return
        try:
            results = json.loads(self.run_results.read_text())
        except (OSError, json.JSONDecodeError):
            return  # being written; the next sample reads it
        stamp = results.get("metadata", {}).get("invocation_id")
        if (
            stamp
            and stamp != self.stale_invocation
            and all(r.get("metadata", {}).get("invocation_id") != stamp for r in self.dbt_results)
        ):
            self.dbt_results.append(results)

    def window(self, started: float, ended: float) -> tuple[float, int]:
        """CPU seconds and peak RSS (bytes) between two moments."""
        if not self.samples:
            return 0.0, 0
        times = [s[0] for s in self.samples]
        first = min(bisect_left(times, started), len(times) - 1)
        last = min(bisect_left(times, ended), len(times) - 1)
        inside = self.samples[first : last + 1]
        return inside[-1][1] - self.samples[max(first - 1, 0)][1], max(s[2] for s in inside)


@dataclass
class Step:
    name: str
    wall: float
    cpu: float
    peak_rss: int
    records: int | None = None  # landed by the bench before the run (--land direct)


@dataclass
class Night:
    label: str
    wall: float
    cpu: float
    peak_rss: int
    load: tuple[float, float, float]
    steps: list[Step]
    models: list[tuple[str, float]]
    succeeded: bool
    landing: Step | None = None  # --land direct: the bench's landing of the night (not the job)


def run_night(
    label: str, day: str, env: dict[str, str], build_dir: Path, full_refresh: bool
) -> Night:
    command = [sys.executable, "-m", "pipelines", "run", "--date", day]
    if full_refresh:
        command.append("--full-refresh")
    print(f"\n== {label}: {' '.join(command[1:])}", flush=True)
    # A night that fails before dbt runs leaves the previous run's results in place.
    run_results = build_dir / "dbt_target" / "run_results.json"
    stale = None
    if run_results.exists():
        stale = json.loads(run_results.read_text()).get("metadata", {}).get("invocation_id")
    started = time.time()
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sampler = Sampler(process.pid, run_results=run_results, stale_invocation=stale)
    sampler.start()
    loads = []
    assert process.stdout is not None
    output = []
    for line in process.stdout:
        output.append(line)
        loads.append(os.getloadavg())
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    ended = time.time()
    sampler.stop()
    loads.append(os.getloadavg())
    text = "".join(output)
    if process.returncode != 0:
        print(text[-6000:])
    report = re.search(r"report: (\S+\.md)", text)
    steps = _steps(env, Path(report.group(1)).with_suffix(".json"), sampler) if report else []
    peak = max((s[2] for s in sampler.samples), default=0)
    models: dict[str, float] = {}
    for results in sampler.dbt_results:
        for result in results.get("results", []):
            if result["unique_id"].startswith("model."):
                models[result["unique_id"].removeprefix("model.journey_warehouse.")] = result[
                    "execution_time"
                ]
    mean_load = tuple(sum(load[i] for load in loads) / len(loads) for i in range(3))
    return Night(
        label=label,
        wall=ended - started,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_rss=peak,
        load=mean_load,
        steps=steps,
        models=sorted(models.items(), key=lambda item: -item[1]),
        succeeded=process.returncode == 0,
    )


def last_data_day(dataset: Path) -> date:
    """The dataset's last day: the generator's period end (manifest.json). Not the date of the
    latest record: a visit that runs past midnight would make that the next day, and the "next
    night" would hold only that visit (the 1M dataset's latest record is 2026-10-01 00:0x)."""
    manifest = dataset / "manifest.json"
    if manifest.exists():
        end = json.loads(manifest.read_text()).get("period", {}).get("end")
        if end:
            return date.fromisoformat(end)
    return dataset_end(dataset).date()


def land_direct(
    dataset: Path, data_dir: Path, run_id: str, as_of: datetime | None, earlier: list[str]
) -> Step:
    """Land a night with `bench.direct_landing` in a child process: its wall, CPU, peak RSS."""
    command = [sys.executable, "-m", "bench.direct_landing", "--dataset", str(dataset)]
    command += ["--data-dir", str(data_dir), "--run-id", run_id, "--earlier", *earlier]
    if as_of is not None:
        command += ["--as-of", as_of.isoformat()]
    print(f"\n== landing {run_id} without HTTP", flush=True)
    started = time.time()
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    kept = json.loads(process.stdout.read() or "{}")
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"landing {run_id} failed (exit {os.waitstatus_to_exitcode(status)})")
    print(f"   {sum(kept.values()):,} records landed: {kept}", flush=True)
    return Step(
        f"landing without HTTP ({sum(kept.values()):,} records)",
        time.time() - started,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss * 1024,
        records=sum(kept.values()),
    )


def _steps(env: dict[str, str], report_json: Path, sampler: Sampler) -> list[Step]:
    """Each step of the run by the Dagster event log (start and end), with the sampler's figures."""
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    try:
        import dagster as dg

        from pipelines.run_report import stage_timings

        run_id = json.loads(report_json.read_text())["run_id"]
        with dg.DagsterInstance.get() as instance:
            timings = stage_timings(instance.all_logs(run_id))
    finally:
        if previous is not None:
            os.environ["DAGSTER_HOME"] = previous
    steps = []
    for name, info in sorted(timings.items(), key=lambda item: item[1].get("started") or 0):
        if not info.get("started") or not info.get("ended"):
            continue
        cpu, peak = sampler.window(info["started"], info["ended"])
        steps.append(Step(name, info["ended"] - info["started"], cpu, peak))
    return steps


def print_night(night: Night, top: int) -> None:
    load = " ".join(f"{value:.1f}" for value in night.load)
    print(f"\n{night.label}: {'succeeded' if night.succeeded else 'FAILED'}")
    print(
        f"  {night.wall:8.1f} s wall  {night.cpu:8.1f} s CPU  {night.peak_rss / 2**20:8,.0f} MB peak RSS"
        f"  (load average 1/5/15 min while it ran: {load})"
    )
    print(f"  {'step':<40} {'wall s':>8} {'CPU s':>8} {'peak MB':>9}")
    if night.landing is not None:
        landing = night.landing
        print(
            f"  {'(before the run) ' + landing.name:<40} {landing.wall:8.1f} {landing.cpu:8.1f}"
            f" {landing.peak_rss / 2**20:9,.0f}"
        )
    for step in night.steps:
        print(f"  {step.name:<40} {step.wall:8.1f} {step.cpu:8.1f} {step.peak_rss / 2**20:9,.0f}")
    accounted = sum(step.wall for step in night.steps)
    print(f"  {'(outside steps: start, event log, report)':<40} {night.wall - accounted:8.1f}")
    print(
        f"  slowest dbt models ({len(night.models)} models, {sum(s for _, s in night.models):.1f} s in all):"
    )
    for name, seconds in night.models[:top]:
        print(f"    {seconds:7.2f} s  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.nightly_bench", description=__doc__)
    parser.add_argument("--persons", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dataset", type=Path, help="dataset folder (generated if missing)")
    parser.add_argument("--work", type=Path, help="folder for the run (default: a temporary one)")
    parser.add_argument("--top", type=int, default=12, help="slowest dbt models to print")
    parser.add_argument(
        "--land",
        choices=["sandbox", "direct"],
        default="sandbox",
        help="serve the vendors over HTTP (default) or land each night without HTTP",
    )
    args = parser.parse_args(argv)

    from devkit.sandbox import SandboxServer

    dataset = args.dataset or RESULTS / f"dataset_{args.persons}_{args.seed}"
    demo_dataset(dataset, args.persons, args.seed)
    last_day = last_data_day(dataset)
    full_day = last_day - timedelta(days=1)
    work = Path(args.work or tempfile.mkdtemp(prefix="journey-nightly-bench-"))
    shutil.rmtree(work, ignore_errors=True)
    (work / "dagster_home").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", work / "dagster_home")
    folders = {
        "JOURNEY_DATA_DIR": str(work / "data"),
        "JOURNEY_WAREHOUSE_PATH": str(work / "warehouse" / "journey.duckdb"),
        "DAGSTER_HOME": str(work / "dagster_home"),
        "DO_NOT_TRACK": "1",
        "GX_ANALYTICS_ENABLED": "false",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "JOURNEY_DROP_DIR": str(dataset / "drop"),
    }
    clock = datetime.combine(last_day, clock_time(), tzinfo=UTC)
    nights = []
    try:
        if args.land == "direct":
            del folders["JOURNEY_DROP_DIR"]  # the drops are landed with the vendors' records
            env = {**os.environ, **folders}
            build_dir = Settings.from_env(env).build_dir
            data_dir = Path(folders["JOURNEY_DATA_DIR"])
            landing = land_direct(dataset, data_dir, "bench-full", clock, [])
            nights.append(run_night("full refresh", full_day.isoformat(), env, build_dir, True))
            nights[-1].landing = landing
            landing = land_direct(dataset, data_dir, "bench-night", None, ["bench-full"])
            nights.append(run_night("next night", last_day.isoformat(), env, build_dir, False))
            nights[-1].landing = landing
            return _summary(args, nights)
        with SandboxServer(dataset, clock=clock) as sandbox:
            env = {**os.environ, **folders, **sandbox.env()}
            build_dir = Settings.from_env(env).build_dir
            nights.append(run_night("full refresh", full_day.isoformat(), env, build_dir, True))
            sandbox.set_clock(dataset_end(dataset))
            nights.append(run_night("next night", last_day.isoformat(), env, build_dir, False))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return _summary(args, nights)


def _summary(args: argparse.Namespace, nights: list[Night]) -> int:
    how = "landed without HTTP" if args.land == "direct" else "served over HTTP"
    print(
        f"\nNightly benchmark, {args.persons:,} persons (seed {args.seed}, {how}),"
        f" {os.cpu_count()} cores"
    )
    for night in nights:
        print_night(night, args.top)
    full, night = nights
    print(
        f"\nnight / full refresh: {night.wall / full.wall:.2f} wall, {night.cpu / max(full.cpu, 1e-9):.2f} CPU"
        " (issue 17 target: ≤ 0.10)"
    )
    if night.landing is not None and night.landing.records:
        records = night.landing.records
        print(
            f"the night's cost per landed record: {night.wall / records * 1e3:.3f} ms wall,"
            f" {night.cpu / records * 1e3:.3f} ms CPU ({records:,} records)"
        )
    return 0 if all(n.succeeded for n in nights) else 1


if __name__ == "__main__":
    raise SystemExit(main())
