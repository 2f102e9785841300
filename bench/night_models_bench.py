"""The next night's dbt models, model by model: what an incremental night costs, per model.

    .venv/bin/python -m bench.night_models_bench --persons 20000

Generates (or reuses) a demo dataset and lands it without HTTP as the sandbox serves it one
day before its end; builds it in full (`dbt build` before identity, the Polars stitch, `dbt
build` of the rest, as `bench.warehouse_bench`), then lands the last day — only the versions
the first night had not landed, as cursor-based extraction delivers them, except Mailchimp's
`sent_to`, whose every served recipient is landed again unchanged (the window re-pull of the
nightly job, here over every campaign: an upper bound) — and builds it incrementally. Prints
the night's records, wall seconds per step, the slowest models and the sums of model and test
seconds (dbt's `run_results.json`), with the load average: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import duckdb

from bench.warehouse_bench import RESULTS, demo_dataset
from devkit.vendor_dataset import dataset_end, keep_only_new_versions
from tests.dbt.harness import PRE_IDENTITY, Warehouse


def _seconds(root: Path) -> dict[str, float]:
    results = json.loads((root / "dbt_target" / "run_results.json").read_text())["results"]
    return {result["unique_id"]: result["execution_time"] for result in results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.night_models_bench", description=__doc__)
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dataset", type=Path, help="dataset folder (generated if missing)")
    parser.add_argument("--top", type=int, default=20, help="how many models to list")
    args = parser.parse_args(argv)

    dataset = demo_dataset(args.dataset or RESULTS / f"dataset_{args.persons}_{args.seed}",
                           args.persons, args.seed)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="journey-night-models-bench-") as tmp:
        warehouse = Warehouse(Path(tmp))
        warehouse.land(dataset, "night-1", as_of=dataset_end(dataset) - timedelta(days=1))
        warehouse.build("night-1")
        warehouse.land(dataset, "night-2")
        sent_to = warehouse.landing_dir / "mailchimp" / "sent_to"
        re_pulled = {path: path.read_bytes() for path in sent_to.glob("**/night-2-*.parquet")}
        keep_only_new_versions(warehouse.landing_dir, ["night-1"], "night-2")
        for path, content in re_pulled.items():
            path.write_bytes(content)
        records = duckdb.sql(
            f"select count(*) from read_parquet('{warehouse.landing_dir}/*/*/**/night-2-*.parquet', "
            "union_by_name = true)"
        ).fetchone()
        load_before = os.getloadavg()
        started = time.perf_counter()
        warehouse.dbt("build", "--select", PRE_IDENTITY)
        seconds = _seconds(warehouse.root)
        warehouse.stitch_identities("night-2")
        warehouse.dbt("build", "--exclude", PRE_IDENTITY)
        seconds |= _seconds(warehouse.root)
        total = time.perf_counter() - started
        load_after = os.getloadavg()

    print(
        f"\nNext night, {args.persons:,} persons: {records[0] if records else 0:,} records landed"
    )
    print(f"  load average before {load_before[0]:.1f}, after {load_after[0]:.1f} (1 min)")
    for step, step_seconds in warehouse.timings.items():
        if "night-2" in step or "dbt build" in step:
            print(f"  {step_seconds:8.1f} s  {step}")
    print(f"  {total:8.1f} s  the night's build (dbt before identity + stitch + dbt after)")
    models = sorted(
        (
            (model_seconds, node)
            for node, model_seconds in seconds.items()
            if node.startswith("model.")
        ),
        reverse=True,
    )
    tests = sum(test_seconds for node, test_seconds in seconds.items() if node.startswith("test."))
    print(f"  {sum(s for s, _ in models):8.1f} s  models (sum of dbt's execution times)")
    print(f"  {tests:8.1f} s  tests (sum)")
    for model_seconds, node in models[: args.top]:
        print(f"  {model_seconds:8.2f} s  {node.split('.')[-1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
