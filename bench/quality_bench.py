"""Data-quality checks at a size: the warehouse suites and the landing suites, each run alone.

    .venv/bin/python -m bench.quality_bench --persons 20000

Generates (or reuses) a demo dataset, lands it without HTTP and builds a warehouse from it
with the dbt test harness (cached under `bench/results/quality/warehouse_<N>_<seed>/`; delete
the folder to rebuild). Then runs, each in a child process, `pipelines.quality.runner.run_suites`
on the warehouse suites (`expectations/marts`, against the built DuckDB file) and on the landing
suites (`expectations/landing`, the records landed under run id `bench`), exactly as the
quality assets call it, and prints per group: wall seconds (GX import included, and without
it), the child's peak RSS, the slowest suites (frame and validation seconds from the outcomes),
the checks that did not pass, and the load average while it ran (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipelines.settings import EXPECTATIONS_DIR

RESULTS = Path(__file__).resolve().parent / "results" / "quality"
RUN_ID = "bench"
GROUPS = ("warehouse", "landing")


def build_warehouse(persons: int, seed: int) -> Path:
    """The cached build folder for `persons` (built first when missing)."""
    from bench.warehouse_bench import RESULTS as DATASETS
    from bench.warehouse_bench import demo_dataset
    from tests.dbt.harness import Warehouse

    root = RESULTS / f"warehouse_{persons}_{seed}"
    warehouse = Warehouse(root)
    if not (root / "built").exists():
        dataset = demo_dataset(DATASETS / f"dataset_{persons}_{seed}", persons, seed)
        warehouse.land(dataset, RUN_ID)
        warehouse.build(RUN_ID)
        (root / "built").write_text(json.dumps(warehouse.timings))
    return root


def child(group: str, root: Path) -> int:
    """Run one group's suites on the build in `root`; print a JSON summary on the last line."""
    from tests.dbt.harness import Warehouse

    started = time.perf_counter()
    from pipelines.quality.runner import QualityPaths, RunInfo, import_gx, run_suites
    from pipelines.quality.suites import load_suites

    import_gx()
    imported = time.perf_counter()
    warehouse = Warehouse(root)
    suites = [
        suite
        for suite in load_suites(EXPECTATIONS_DIR)
        if (suite.frame.kind == "landing") == (group == "landing")
    ]
    with tempfile.TemporaryDirectory(prefix="journey-quality-bench-") as tmp:
        paths = QualityPaths(
            landing_dir=warehouse.landing_dir,
            warehouse_path=warehouse.database,
            state_file=Path(tmp) / "row_counts.json",
            docs_dir=Path(tmp) / "gx",
        )
        outcomes = run_suites(suites, paths, RunInfo(run_id=RUN_ID))
    finished = time.perf_counter()
    suite_seconds: dict[str, tuple[float, float, int | None]] = {}
    for outcome in outcomes:
        suite_seconds[outcome.suite] = (
            outcome.frame_seconds or 0.0,
            outcome.validate_seconds or 0.0,
            outcome.rows,
        )
    print(
        json.dumps(
            {
                "peak_rss_mb": _high_water_mb(),
                "seconds": finished - started,
                "import_seconds": imported - started,
                "checks": len(outcomes),
                "not_passed": sorted(
                    f"{o.suite}:{o.check}:{o.failed_rows}" for o in outcomes if not o.passed
                ),
                "suites": suite_seconds,
            }
        )
    )
    return 0


def _high_water_mb() -> float:
    """This process's peak resident memory since it started (`VmHWM`: unlike `ru_maxrss`,
    not inherited from the parent at fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure(group: str, root: Path) -> dict:
    """Run `child` in a fresh process; its wall seconds and summary (with its peak RSS)."""
    before = os.getloadavg()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.quality_bench", "--child", group, "--root", str(root)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "DO_NOT_TRACK": "1", "GX_ANALYTICS_ENABLED": "false"},
    )
    assert process.stdout is not None
    output = process.stdout.read()
    process.wait()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{group} checks failed to run (exit {process.returncode})")
    summary = json.loads(output.strip().splitlines()[-1])
    after = os.getloadavg()
    return {
        "wall": wall,
        "load": tuple(round((a + b) / 2, 2) for a, b in zip(before, after, strict=True)),
        **summary,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality_bench", description=__doc__)
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--groups", nargs="+", choices=GROUPS, default=list(GROUPS))
    parser.add_argument("--child", choices=GROUPS, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.root)

    root = build_warehouse(args.persons, args.seed)
    size = (root / "build" / "journey.duckdb").stat().st_size / 1e6
    print(f"\nQuality checks, {args.persons:,} persons (warehouse {size:,.0f} MB, {root})")
    for group in args.groups:
        result = measure(group, root)
        print(
            f"  {group:<9} {result['checks']:>4} checks  {result['wall']:7.1f} s wall "
            f"({result['wall'] - result['import_seconds']:.1f} s without the GX import)  "
            f"peak RSS {result['peak_rss_mb']:,.0f} MB  load {result['load']}"
        )
        slowest = sorted(result["suites"].items(), key=lambda item: -sum(item[1][:2]))[:5]
        for name, (frame, validate, rows) in slowest:
            print(
                f"      {frame:6.2f} s frame  {validate:6.2f} s GX  {rows or 0:>10,} rows  {name}"
            )
        for item in result["not_passed"]:
            print(f"      not passed: {item}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
