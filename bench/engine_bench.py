"""DuckDB vs Spark: the same landed demo warehouse built by the same dbt project on each engine.

    .venv/bin/python -m bench.engine_bench --persons 2000
    .venv/bin/python -m bench.engine_bench --persons 2000 20000 --engines duckdb spark

For each size: generates (or reuses) a demo dataset, then for each engine, in a child process
(`--child`), lands it without HTTP and builds it as the nightly job does — dbt models before
identity, the Polars identity step, dbt for the rest — tables only (`--exclude-resource-type
test`, on both engines: on Spark each data test is a job of its own; tests/dbt runs them), with
`tests/dbt/harness.py` (DuckDB) or `tests/spark/harness.py` (Spark `local[2]`, or `--master`).
Prints per engine the build's wall seconds, CPU seconds and peak RSS of the child's whole process
tree (dbt and the Spark JVM included; `bench.nightly_bench.Sampler`), the rows of every published
table (checked equal across engines), and the load average while it ran: the machine may be
shared, and figures under load are slower.

On Spark the event log is on (`bench.spark_event_log`): per model, the tasks (partitions), their
executor run time and the records they read. With two sizes or more, the line through the
smallest and the largest size gives each model's fixed and per-record cost, and the sizing for
`--target-persons` (default 100M) is printed from it (docs/scale-out.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.nightly_bench import Sampler
from bench.spark_event_log import OTHER, ModelCost, event_log_conf, fit, model_costs
from bench.warehouse_bench import demo_dataset
from pipelines.settings import DEFAULT_DUCKDB_MEMORY_LIMIT

RESULTS = Path(__file__).resolve().parent / "results" / "engine"
ENGINES = ("duckdb", "spark")
PUBLISHED = "schema_name in ('marts', 'identity')"


@dataclass
class Build:
    engine: str
    persons: int
    wall: float
    cpu: float
    peak_rss: int
    steps: dict[str, float]
    rows: dict[str, int]
    load: tuple[float, ...]
    costs: dict[str, ModelCost]


def save(build: Build) -> None:
    """Keep a build's figures (`RESULTS/build_<engine>_<persons>.json`) for `--saved`."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"build_{build.engine}_{build.persons}.json"
    path.write_text(json.dumps(asdict(build), indent=1))


def load(engine: str, persons: int) -> Build:
    """A build saved by an earlier run."""
    data = json.loads((RESULTS / f"build_{engine}_{persons}.json").read_text())
    costs = {name: ModelCost(**cost) for name, cost in data.pop("costs").items()}
    return Build(**{**data, "load": tuple(data["load"]), "costs": costs})


def child(engine: str, dataset: Path, work: Path, master: str | None) -> int:
    """Land and build once; print the step timings and the published tables' rows as JSON."""
    from tests.dbt.harness import Warehouse
    from tests.spark.harness import SparkWarehouse

    if engine == "spark":
        spark = SparkWarehouse(work)
        if master:
            spark.environment = lambda: {  # type: ignore[method-assign]
                **SparkWarehouse.environment(spark),
                "JOURNEY_SPARK_MASTER": master,
            }
        spark.land(dataset, "bench")
        started = time.time()
        spark.build("bench", tests=False)
        warehouse: Warehouse = spark
    else:
        warehouse = Warehouse(work)
        warehouse.land(dataset, "bench")
        started = time.time()
        warehouse.build("bench", *("--exclude-resource-type", "test"),
                        *("--exclude-resource-type", "unit_test"))  # fmt: skip
    ended = time.time()
    rows = warehouse.query(
        "select schema_name || '.' || table_name, estimated_size from duckdb_tables() "
        f"where {PUBLISHED} order by 1"
    )
    print(json.dumps({
        "started": started, "ended": ended, "steps": warehouse.timings,
        "rows": dict(rows.iter_rows()),
    }))  # fmt: skip
    return 0


def spark_sizing(persons: int, driver_memory: str | None, partitions: int | None) -> dict[str, str]:
    """The Spark settings of a build at `persons` (JOURNEY_SPARK_DRIVER_MEMORY,
    JOURNEY_SPARK_SHUFFLE_PARTITIONS): as given, else 8g of driver heap (in `local[2]` the
    driver is the executor) and one shuffle partition per ~6,250 persons, at least 4 (~2M
    records per partition for the largest model, `int_web_sessions`, as docs/scale-out.md
    sizes a cluster; adaptive execution coalesces the small models' shuffles)."""
    return {
        "JOURNEY_SPARK_DRIVER_MEMORY": driver_memory or "8g",
        "JOURNEY_SPARK_SHUFFLE_PARTITIONS": str(partitions or max(4, persons // 6_250)),
    }


def run_build(
    engine: str, persons: int, dataset: Path, work: Path, master: str | None,
    settings: dict[str, str] | None = None,
) -> Build:  # fmt: skip
    """One build in a child process, its process tree sampled; `settings`: the engine's
    environment variables (memory)."""
    env = {**os.environ, "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.update(settings or {})
    events = None
    if engine == "spark":
        events = event_log_conf(work / "spark_conf")
        env["SPARK_CONF_DIR"] = str(work / "spark_conf")
    command = [sys.executable, "-m", "bench.engine_bench", "--child", engine,
               str(dataset), str(work / "build"), *(["--master", master] if master else [])]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    sampler = Sampler(process.pid)
    sampler.start()
    output, _ = process.communicate()
    sampler.stop()
    load = os.getloadavg()
    if process.returncode != 0:
        raise RuntimeError(f"{engine} build at {persons:,} persons failed (see stderr above)")
    result = json.loads(output.strip().splitlines()[-1])
    cpu, peak = sampler.window(result["started"], result["ended"])
    return Build(
        engine, persons, result["ended"] - result["started"], cpu, peak, result["steps"],
        result["rows"], load, model_costs(events) if events else {},
    )  # fmt: skip


def print_build(build: Build) -> None:
    load = " ".join(f"{value:.1f}" for value in build.load)
    print(
        f"  {build.engine:<7} {build.wall:8.1f} s wall {build.cpu:8.1f} s CPU "
        f"{build.peak_rss / 2**20:8,.0f} MB peak RSS   load average 1/5/15 min at the end: {load}"
    )
    for step, seconds in build.steps.items():
        print(f"            {seconds:8.1f} s  {step}")


def print_costs(build: Build, top: int) -> None:
    """The heaviest models of a Spark build by executor time."""
    total = sum(cost.run_ms for cost in build.costs.values())
    tasks = sum(cost.tasks for cost in build.costs.values())
    print(
        f"  Spark tasks at {build.persons:,} persons: {tasks:,} tasks, {total / 1000:,.1f} "
        f"executor s over {len(build.costs)} models (executor time / wall: "
        f"{total / 1000 / build.wall:.2f} of 2 cores)"
    )
    print(
        f"    {'model':<52} {'tasks':>6} {'exec s':>8} {'ms/task':>8} {'records read':>13} {'peak task MB':>12}"
    )
    for name, cost in sorted(build.costs.items(), key=lambda item: -item[1].run_ms)[:top]:
        print(
            f"    {name:<52} {cost.tasks:>6,} {cost.run_ms / 1000:8.1f} {cost.run_ms / cost.tasks:8.0f} "
            f"{cost.records_read:>13,} {cost.peak_task_memory / 2**20:12.1f}"
        )  # fmt: skip


@dataclass
class Sizing:
    """A cluster for one night at `persons`, from the per-model fits of two Spark builds."""

    persons: int
    records: float  # records read by all tasks
    executor_hours: float  # task time at the per-record cost, plus the tasks' fixed cost
    cpu_hours: float  # the same from the tasks' CPU time (less inflated by a loaded machine)
    partitions: int  # for the largest model's input at `records_per_partition`
    driver_seconds: float  # what does not shrink with executors: dbt and the driver per node


def sizing(small: Build, large: Build, persons: int, records_per_partition: int) -> Sizing:
    """Scale each model's records read linearly with persons (the demo generator's records
    grow linearly) and apply its fit; the fixed part is paid per task, so at the target its
    tasks are the partitions its input needs. The driver's part (wall minus executor time
    spread over the two cores) is taken as at the large size: per-node, not per-record."""
    scale = persons / large.persons
    executor_ms = cpu_ms = 0.0
    records = 0.0
    largest = 0.0
    for name, cost in large.costs.items():
        target = cost.records_read * scale
        tasks = max(target / records_per_partition, cost.tasks)
        for metric in ("run_ms", "cpu_ms"):
            line = fit(small.costs.get(name, ModelCost()), cost, metric)
            ms = line.per_million_ms * target / 1e6 + line.fixed_ms / max(cost.tasks, 1) * tasks
            if metric == "run_ms":
                executor_ms += ms
            else:
                cpu_ms += ms
        records += target
        if name != OTHER:
            largest = max(largest, target)
    busy = sum(cost.run_ms for cost in large.costs.values()) / 1000 / 2
    return Sizing(persons, records, executor_ms / 3.6e6, cpu_ms / 3.6e6,
                  max(int(largest / records_per_partition), 1), max(large.wall - busy, 0.0))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engine_bench", description=__doc__)
    parser.add_argument("--persons", type=int, nargs="*", default=[2_000])
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--master", help="Spark master (default local[2])")
    parser.add_argument(
        "--saved", type=int, nargs="*", default=[],
        help="sizes measured by an earlier run (bench/results/engine/), added to the fit",
    )  # fmt: skip
    parser.add_argument("--top", type=int, default=10, help="heaviest Spark models to print")
    parser.add_argument("--spark-driver-memory", help="Spark driver heap (default 8g)")
    parser.add_argument(
        "--duckdb-memory-limit",
        help="DuckDB's memory ceiling (default JOURNEY_DUCKDB_MEMORY_LIMIT, else the product's "
        f"{DEFAULT_DUCKDB_MEMORY_LIMIT}); beyond it DuckDB spills to disk",
    )
    parser.add_argument(
        "--spark-shuffle-partitions", type=int,
        help="spark.sql.shuffle.partitions (default: persons / 6,250, at least 4)",
    )  # fmt: skip
    parser.add_argument("--target-persons", type=int, default=100_000_000)
    parser.add_argument("--records-per-partition", type=int, default=2_000_000)
    parser.add_argument(
        "--child", nargs=3, metavar=("ENGINE", "DATASET", "WORK"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child[0], Path(args.child[1]), Path(args.child[2]), args.master)

    duckdb_limit = args.duckdb_memory_limit or os.environ.get(
        "JOURNEY_DUCKDB_MEMORY_LIMIT", DEFAULT_DUCKDB_MEMORY_LIMIT
    )
    duckdb_settings = {"JOURNEY_DUCKDB_MEMORY_LIMIT": duckdb_limit}
    builds = [load(engine, persons) for persons in args.saved for engine in args.engines]
    for build in builds:
        print(f"\nsaved {build.engine} build at {build.persons:,} persons:")
        print_build(build)
    for persons in sorted(args.persons):
        dataset = demo_dataset(RESULTS / f"dataset_{persons}_{args.seed}", persons, args.seed)
        print(f"\nDuckDB vs Spark, {persons:,} persons (seed {args.seed}), {os.cpu_count()} cores, "
              "tables only", flush=True)  # fmt: skip
        size_builds = []
        spark_settings = spark_sizing(
            persons, args.spark_driver_memory, args.spark_shuffle_partitions
        )
        settings = {"spark": spark_settings, "duckdb": duckdb_settings}
        for engine in args.engines:
            print(f"  {engine}: " + ", ".join(f"{k}={v}" for k, v in settings[engine].items()))
            with tempfile.TemporaryDirectory(prefix=f"journey-engine-bench-{engine}-") as tmp:
                build = run_build(
                    engine, persons, dataset, Path(tmp), args.master, settings[engine]
                )
            save(build)
            print_build(build)
            if build.costs:
                print_costs(build, args.top)
            size_builds.append(build)
            sys.stdout.flush()
        if len(size_builds) == 2:
            duck, spark = sorted(size_builds, key=lambda b: ENGINES.index(b.engine))
            equal = duck.rows == spark.rows
            print(f"  Spark / DuckDB wall: {spark.wall / duck.wall:.1f}x; published tables "
                  f"{len(duck.rows)}, row counts equal: {equal}")  # fmt: skip
        builds.extend(size_builds)
    spark_builds = sorted((b for b in builds if b.costs), key=lambda b: b.persons)
    if len(spark_builds) >= 2:
        small, large = spark_builds[0], spark_builds[-1]
        plan = sizing(small, large, args.target_persons, args.records_per_partition)
        print(
            f"\nSizing at {plan.persons:,} persons (fit between {small.persons:,} and "
            f"{large.persons:,}): {plan.records / 1e9:,.1f} G records read by tasks, "
            f"{plan.executor_hours:,.1f} executor-core hours ({plan.cpu_hours:,.1f} h of task CPU), "
            f"{plan.partitions:,} partitions of "
            f"{args.records_per_partition:,} records for the largest model, driver/dbt part "
            f"{plan.driver_seconds:,.0f} s (per node, not per record)"
        )
        for cores in (16, 64, 128, 256):
            hours = 2 * plan.cpu_hours / cores + plan.driver_seconds / 3600
            print(
                f"  {cores:>4} cores: ~{hours:,.1f} h per full build (task run time = 2 x task "
                "CPU on a dedicated cluster, plus the driver's part as measured here)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
