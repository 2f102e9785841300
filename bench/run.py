"""`make bench`: every benchmark in turn, printing its figures.

    .venv/bin/python -m bench.run            # the default sizes below (about 4 hours: 1M on Spark)
    .venv/bin/python -m bench.run --quick    # small sizes only (a few minutes)

Each benchmark is its own module and can be run alone (see bench/README.md).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

FULL = [
    ("demo generator", ["bench.generate_bench", "--sizes", "2000", "100000", "1000000"]),
    ("extraction through the sandbox", ["bench.extract_bench", "--persons", "100000"]),
    ("file drops", ["bench.filedrop_bench", "--rows", "1000000"]),
    ("identity stitching vs baselines", ["bench.identity_bench"]),
    ("warehouse build", ["bench.warehouse_bench", "--persons", "100000"]),
    ("full refresh + next night", ["bench.nightly_bench", "--persons", "20000"]),
    ("quality checks", ["bench.quality_bench", "--persons", "20000"]),
    ("5-year backfill of the demo dataset", ["bench.backfill_bench"]),
    ("publish: surface, exports, PostgreSQL", ["bench.publish_bench", "--persons", "100000"]),
    ("journey report", ["bench.report_bench", "--sizes", "2000", "100000"]),
    # ~3 h on 2 quiet cores, 1M on Spark most of it (bench/FIGURES.md); both engines get 12 GB
    (
        "DuckDB vs Spark local[2] at 100k and 1M + 100M sizing",
        [
            "bench.engine_bench",
            "--persons",
            "100000",
            "1000000",
            "--spark-driver-memory",
            "12g",
            "--duckdb-memory-limit",
            "12GB",
        ],
    ),
]
QUICK = [
    ("demo generator", ["bench.generate_bench", "--sizes", "2000"]),
    ("extraction through the sandbox", ["bench.extract_bench", "--persons", "5000"]),
    ("file drops", ["bench.filedrop_bench", "--rows", "100000"]),
    ("identity stitching vs baselines", ["bench.identity_bench", "--sizes", "1000000"]),
    ("warehouse build", ["bench.warehouse_bench", "--persons", "5000"]),
    ("full refresh + next night", ["bench.nightly_bench", "--persons", "2000"]),
    ("quality checks", ["bench.quality_bench", "--persons", "2000"]),
    ("5-year backfill of the demo dataset", ["bench.backfill_bench", "--first-request-only"]),
    ("publish: surface, exports, PostgreSQL", ["bench.publish_bench", "--persons", "5000"]),
    ("journey report", ["bench.report_bench", "--sizes", "2000"]),
    # Spark: the full run only (a Spark build is 15+ minutes at any size: per-model overhead)
    (
        "DuckDB side of DuckDB vs Spark",
        ["bench.engine_bench", "--persons", "500", "--engines", "duckdb"],
    ),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    args = parser.parse_args(argv)
    failed = []
    for title, command in QUICK if args.quick else FULL:
        print(f"\n=== {title}: python -m {' '.join(command)}", flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", *command], check=False)
        print(f"=== {title}: {time.perf_counter() - started:.0f} s", flush=True)
        if done.returncode != 0:
            failed.append(title)
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
