"""Warehouse build speed: the transformation part of a nightly run at a given size.

    .venv/bin/python -m bench.warehouse_bench --persons 10000
    .venv/bin/python -m bench.warehouse_bench --persons 100000 --dataset /tmp/demo100k

Generates (or reuses) a demo dataset, lands it without HTTP (`land_vendor_dataset`; the
extraction benchmark measures HTTP), then runs the same steps as the nightly job —
`dbt build` of the models before identity, the Polars stitch, `dbt build` of the rest — on a
temporary DuckDB file, and prints seconds per step, peak memory and rows per mart.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from devkit.demo.generator import generate
from tests.dbt.harness import Warehouse

RESULTS = Path(__file__).resolve().parent / "results" / "warehouse"


def demo_dataset(dataset: Path, persons: int, seed: int) -> Path:
    """`dataset`, generated first unless a dataset is already there."""
    if not (dataset / "manifest.json").exists():
        started = time.perf_counter()
        generate(dataset, persons=persons, seed=seed)
        print(f"generated {persons:,} persons in {time.perf_counter() - started:.1f} s")
    return dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.warehouse_bench", description=__doc__)
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dataset", type=Path, help="dataset folder (generated if missing)")
    args = parser.parse_args(argv)

    dataset = demo_dataset(args.dataset or RESULTS / f"dataset_{args.persons}_{args.seed}",
                           args.persons, args.seed)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="journey-warehouse-bench-") as tmp:
        warehouse = Warehouse(Path(tmp))
        landed = warehouse.land(dataset, "bench")
        started = time.perf_counter()
        warehouse.build("bench")
        total = time.perf_counter() - started
        rows = warehouse.query(
            "select schema_name || '.' || table_name as table_name, estimated_size as rows "
            "from duckdb_tables() where schema_name = 'marts' order by 1"
        )
        size_mb = warehouse.database.stat().st_size / 1e6
    records = sum(stream["records"] for stream in landed["streams"].values())
    print(f"\nWarehouse build, {args.persons:,} persons ({records:,} landed records)")
    for step, seconds in warehouse.timings.items():
        print(f"  {seconds:8.1f} s  {step}")
    print(f"  {total:8.1f} s  build total (dbt before identity + stitch + dbt after identity)")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory: dbt {children:,.0f} MB, stitch process {own:,.0f} MB")
    print(f"  warehouse file: {size_mb:,.0f} MB")
    for name, count in rows.iter_rows():
        print(f"  {name:<45} {count:>12,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
