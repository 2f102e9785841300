"""The identity step: the one-machine stitch (`pipelines.identity.stitch`, Polars + scipy) vs
the same rules on Spark (`pipelines.spark.identity.stitch_spark`: candidate components as
DataFrame operations, then the stitch per group of components) on the same synthetic evidence
(devkit/identity/synthetic.py, about 4 edges per person), read from one Parquet file by both;
wall seconds of each (Spark: without its session start, printed apart; with its steps), the
tables checked equal row for row, and the load average (the machine is shared).

    python -m bench.spark_identity_bench --edges 100000 1000000 [--master local[2]]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path

import polars as pl

EDGES_PER_PERSON = 4.0
RUN_AT = datetime(2026, 3, 1)


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def _equal(left: pl.DataFrame, right: pl.DataFrame) -> bool:
    return left.sort(left.columns, nulls_last=True).equals(
        right.select(left.columns).sort(left.columns, nulls_last=True)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--buckets", type=int, default=None)
    args = parser.parse_args()

    from devkit.identity.synthetic import generate_evidence
    from pipelines.identity.rules import load_rules
    from pipelines.identity.stitch import TABLES, stitch
    from pipelines.spark.identity import spark_session, stitch_spark

    rules = load_rules()
    started = time.perf_counter()
    spark = spark_session(args.master, "journey-identity-bench", driver_memory="4g")
    print(f"spark session ({args.master}): {time.perf_counter() - started:.1f} s, load {_load()}")
    with tempfile.TemporaryDirectory(prefix="spark-identity-bench-") as folder:
        for size in args.edges:
            evidence, _ = generate_evidence(int(size / EDGES_PER_PERSON), seed=11)
            path = Path(folder) / f"evidence-{size}.parquet"
            evidence.write_parquet(path)
            del evidence
            started = time.perf_counter()
            expected = stitch(pl.scan_parquet(path), rules=rules, run_id="bench", run_at=RUN_AT)
            one_machine = time.perf_counter() - started
            started = time.perf_counter()
            result = stitch_spark(
                spark.read.parquet(str(path)),
                rules=rules,
                run_id="bench",
                run_at=RUN_AT,
                buckets=args.buckets,
            ).collect()
            on_spark = time.perf_counter() - started
            equal = all(_equal(expected.tables[name], result.tables[name]) for name in TABLES)
            steps = {
                k.removeprefix("seconds[spark:").rstrip("]"): v
                for k, v in result.metrics.items()
                if k.startswith("seconds[spark:")
            }
            print(
                f"{size:>10,} edges ({expected.metrics['edges_accepted']:,} accepted, "
                f"{expected.metrics['persons']:,} persons): polars {one_machine:7.2f} s, "
                f"spark {on_spark:7.1f} s {steps}, equal {equal}, load average {_load()}"
            )
    spark.stop()


if __name__ == "__main__":
    main()
