"""Journey report build time: the HTML report and the map's PNG, per warehouse size.

    .venv/bin/python -m bench.report_bench --sizes 2000 100000

For each size: generates (or reuses) a demo dataset, builds its warehouse like
`bench.warehouse_bench` (landing without HTTP, dbt + identity; cached under
`bench/results/report/`, a 100k-person build takes several minutes the first time), keeps only
the published schemas (marts, identity) in a copy, as the publish step does, and times
`pipelines.report.build_report` on it: the HTML page (queries, figures, assembly) and the PNG of
the map (system Chromium). Targets: 2k persons < 10 s, 100k persons < 30 s.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from devkit.demo.generator import generate
from pipelines.report.build import build_report
from pipelines.report.trust import RunFacts
from tests.dbt.harness import Warehouse

RESULTS = Path(__file__).resolve().parent / "results" / "report"
TARGETS = {2000: 10.0, 100_000: 30.0}
REPEATS = 3


def warehouse_for(persons: int, seed: int) -> Path:
    published = RESULTS / f"published_{persons}_{seed}.duckdb"
    if published.exists():
        return published
    dataset = RESULTS / f"dataset_{persons}_{seed}"
    if not (dataset / "manifest.json").exists():
        started = time.perf_counter()
        generate(dataset, persons=persons, seed=seed)
        print(f"  generated {persons:,} persons in {time.perf_counter() - started:.0f} s")
    with tempfile.TemporaryDirectory(prefix="journey-report-bench-") as tmp:
        warehouse = Warehouse(Path(tmp))
        started = time.perf_counter()
        warehouse.land(dataset, "bench")
        warehouse.build("bench")
        print(f"  built the {persons:,}-person warehouse in {time.perf_counter() - started:.0f} s")
        warehouse.published_copy(published)
    return published


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report_bench", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 100_000])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    failed = []
    for persons in args.sizes:
        print(f"\nJourney report, {persons:,} persons")
        warehouse = warehouse_for(persons, args.seed)
        out = RESULTS / f"journey_report_{persons}.html"
        totals = []
        for attempt in range(REPEATS):
            load = os.getloadavg()[0]
            result = build_report(warehouse, out, facts=RunFacts(origin="benchmark: no run"))
            total = result.seconds + result.image_seconds
            totals.append(total)
            image = result.image_note or f"PNG {result.image_path.stat().st_size / 1e6:.1f} MB"
            print(
                f"  run {attempt + 1}: HTML {result.seconds:5.1f} s + map PNG "
                f"{result.image_seconds:4.1f} s = {total:5.1f} s  (load average {load:.1f}; "
                f"page {out.stat().st_size / 1e6:.1f} MB, {image})"
            )
        target = TARGETS.get(persons)
        best = min(totals)
        verdict = (
            ""
            if target is None
            else (" — within" if best < target else " — ABOVE") + (f" the {target:.0f} s target")
        )
        print(f"  best {best:.1f} s{verdict}; warehouse {warehouse.stat().st_size / 1e6:,.0f} MB")
        if target is not None and best >= target:
            failed.append(persons)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
