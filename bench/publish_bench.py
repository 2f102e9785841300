"""Publish speed: the analyst surface, its Parquet exports and the PostgreSQL copy at a size.

    .venv/bin/python -m bench.publish_bench --persons 100000
    .venv/bin/python -m bench.publish_bench --build /path/to/build.duckdb   # an existing build

Builds (or reuses, from bench/results/publish/) a warehouse of the demo dataset the way
`warehouse_bench` does, then times the three parts of a publish on it: the published file
(tables only, comments), the Parquet exports (five facts partitioned by month),
and the load of every table into a throwaway PostgreSQL server (binary COPY through ADBC, keys,
indexes, comments, in one transaction), then the swap. Prints seconds, rows and rows per second
for each part and for the largest tables, and the machine's load while it ran.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import duckdb

from devkit.postgres_server import PostgresServer
from pipelines.settings import Secret
from pipelines.warehouse.dbt_runner import ensure_manifest
from pipelines.warehouse.postgres import PostgresTarget
from pipelines.warehouse.surface import SurfaceSpec, build_published_file, export_tables, grains

RESULTS = Path(__file__).resolve().parent / "results" / "publish"


def _build(persons: int, seed: int) -> Path:
    """A full build of the demo dataset at this size, cached between runs."""
    from devkit.demo.generator import generate
    from tests.dbt.harness import Warehouse

    cached = RESULTS / f"build_{persons}_{seed}.duckdb"
    if cached.exists():
        return cached
    dataset = RESULTS / f"dataset_{persons}_{seed}"
    if not (dataset / "manifest.json").exists():
        generate(dataset, persons=persons, seed=seed)
    with tempfile.TemporaryDirectory(prefix="journey-publish-bench-") as tmp:
        warehouse = Warehouse(Path(tmp))
        warehouse.land(dataset, "bench")
        started = time.perf_counter()
        warehouse.build("bench")
        print(
            f"built the warehouse of {persons:,} persons in {time.perf_counter() - started:.0f} s"
        )
        RESULTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(warehouse.database, cached)
    return cached


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.publish_bench", description=__doc__)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--build", type=Path, help="an existing build file (skips the build)")
    args = parser.parse_args(argv)

    build = args.build or _build(args.persons, args.seed)
    spec = SurfaceSpec.from_manifest(ensure_manifest())
    print(f"\nPublish of {build} ({build.stat().st_size / 1e6:,.0f} MB); {_load()}")
    with tempfile.TemporaryDirectory(prefix="journey-publish-bench-") as tmp:
        published = Path(tmp) / "published.duckdb"
        started = time.perf_counter()
        tables = build_published_file(build, published, spec)
        surface_seconds = time.perf_counter() - started
        rows = sum(tables.values())
        print(f"  {surface_seconds:8.1f} s  published file: {len(tables)} tables, {rows:,} rows, "
              f"{published.stat().st_size / 1e6:,.0f} MB")  # fmt: skip

        started = time.perf_counter()
        export_tables(published, Path(tmp) / "exports", spec)
        print(f"  {time.perf_counter() - started:8.1f} s  Parquet exports")

        with PostgresServer() as server:
            target = PostgresTarget(Secret(server.url))
            started = time.perf_counter()
            generation = SimpleNamespace(
                id="bench", published_file=published, keys=grains(spec, tables)
            )
            loaded = target.load(generation.id, published, generation.keys)
            load_seconds = time.perf_counter() - started
            started = time.perf_counter()
            target.reconcile("bench", None, lambda _: generation)
            swap_seconds = time.perf_counter() - started
            print(f"  {load_seconds:8.1f} s  PostgreSQL load: {sum(loaded.values()):,} rows "
                  f"({sum(loaded.values()) / load_seconds:,.0f} rows/s with keys, indexes, comments)")  # fmt: skip
            print(f"  {swap_seconds:8.2f} s  PostgreSQL swap (one transaction)")
            print(f"  {_load()} at the end")
            print("  largest tables (rows):")
            for name, count in sorted(loaded.items(), key=lambda item: -item[1])[:5]:
                print(f"    {name:<40} {count:>12,}")
        largest = max(loaded, key=loaded.get)
        _time_largest_copy(published, largest)
    return 0


def _time_largest_copy(published: Path, qualified: str) -> None:
    """The binary COPY alone, without keys and indexes, for the largest table: the rows/s the
    brief's "1M rows in 3-6 s" is about."""
    import adbc_driver_postgresql.dbapi as adbc

    schema, table = qualified.split(".")
    con = duckdb.connect(str(published), read_only=True)
    with (
        PostgresServer() as server,
        adbc.connect(server.url) as connection,
        connection.cursor() as cursor,
    ):
        reader = con.execute(f'select * from "{schema}"."{table}"').to_arrow_reader(100_000)
        started = time.perf_counter()
        rows = cursor.adbc_ingest(table, reader, mode="create")
        connection.commit()
        seconds = time.perf_counter() - started
    con.close()
    print(f"  COPY alone of {qualified}: {rows:,} rows in {seconds:.1f} s "
          f"({rows / seconds / 1e6:.2f} M rows/s)")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
