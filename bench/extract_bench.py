"""Extraction throughput: records/s per stream, through the sandbox and without HTTP.

    .venv/bin/python -m bench.extract_bench --persons 100000

Generates the demo dataset once (cached under bench/results/, or `--dataset DIR`; a synthetic
dataset when the generator is unavailable), serves it with the sandbox (Shopify Plus call
limits: 400 calls, 20/s), runs a full-refresh extraction of every source into a temporary data
folder and prints pages, records, seconds and records/s per stream and the extraction's peak
RSS; then the same for `land_vendor_dataset` (no HTTP) for comparison. The sandbox, the
extraction and the landing each run in a process of their own, so each peak RSS is that
step's alone (not the generator's or the sandbox's). `--sources matomo mailchimp` extracts only
those sources (at 1M persons all four take about an hour over HTTP; Matomo's visits are the
largest records, Mailchimp's recipients the most).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from devkit.sandbox import SandboxServer
from devkit.vendor_dataset import dataset_end, land_vendor_dataset
from pipelines.extract.duck import split_json_array
from pipelines.extract.landing import validate_records
from pipelines.extract.runner import extract_source, plan_window
from pipelines.extract.streams import stream_spec
from pipelines.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
VENDOR_SOURCES = ("matomo", "mailchimp", "shopify", "zendesk")


def ensure_dataset(persons: int, seed: int, folder: Path | None) -> tuple[Path, str]:
    target = folder or RESULTS / f"extract_dataset_p{persons}_s{seed}"
    if (target / "vendor").is_dir():
        return target, "cached"
    try:
        from devkit.demo.generator import generate
    except ImportError:
        synthetic_dataset(target, persons, seed)
        return target, "synthetic"
    if target.exists():
        shutil.rmtree(target)
    generate(target, persons=persons, seed=seed)
    return target, "demo generator"


def synthetic_dataset(target: Path, persons: int, seed: int) -> None:
    """A stand-in vendor dataset (contracts §2) for when the generator is not available."""
    rng = np.random.default_rng(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    span = 270 * 86_400

    def write(source: str, stream: str, frame: pl.DataFrame) -> None:
        path = target / "vendor" / source / f"{stream}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(path)

    def times(count: int) -> pl.Series:
        seconds = np.sort(rng.integers(0, span, count))
        micros = (int(start.timestamp()) + seconds) * 1_000_000
        return pl.Series("updated_at", micros, pl.Int64).cast(pl.Datetime("us", "UTC"))

    def records(*parts: str | pl.Expr) -> pl.Expr:
        return pl.concat_str([pl.lit(part) if isinstance(part, str) else part for part in parts])

    def rows(frame: pl.DataFrame, record: pl.Expr) -> pl.DataFrame:
        return frame.select(
            record_id=pl.col("id").cast(pl.String),
            parent_id=pl.lit(None, pl.String),
            updated_at=pl.col("updated_at"),
            record=record,
        )

    count = persons * 4
    visits = pl.DataFrame({"id": np.arange(1, count + 1), "updated_at": times(count)})
    stamp = pl.col("updated_at").dt.epoch("s").cast(pl.String)
    visit_id = pl.col("id").cast(pl.String)
    visit = records(
        '{"idSite":1,"idVisit":', visit_id, ',"visitorId":"', visit_id.str.zfill(16),
        '","userId":null,"visitCount":1,"firstActionTimestamp":', stamp,
        ',"lastActionTimestamp":', stamp, ',"serverTimestamp":', stamp,
        ',"visitDuration":60,"actions":1,"referrerType":"direct","actionDetails":[',
        '{"type":"action","url":"https://shop.example/","timestamp":', stamp, "}]}",
    )  # fmt: skip
    write("matomo", "visits", rows(visits, visit))
    count = persons // 2
    orders = pl.DataFrame({"id": np.arange(1, count + 1), "updated_at": times(count)})
    iso = pl.col("updated_at").dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    order = records(
        '{"id":', pl.col("id").cast(pl.String), ',"created_at":"', iso, '","updated_at":"', iso,
        '","test":false,"total_price":"10.00","line_items":[]}',
    )  # fmt: skip
    write("shopify", "orders", rows(orders, order))
    (target / "manifest.json").write_text(json.dumps({"synthetic": True, "persons": persons}))


def dataset_start(dataset: Path) -> date:
    """The first day with a vendor record, so the full refresh covers the whole dataset."""
    starts = [
        pl.scan_parquet(path).select(pl.col("updated_at").min()).collect().item()
        for path in sorted((dataset / "vendor").glob("*/*.parquet"))
    ]
    return min(start for start in starts if start is not None).date()


def warm_up() -> None:
    """Pay the one-off costs (DuckDB's first queries import pandas) before timing."""
    spec = stream_spec("zendesk", "users")
    texts = split_json_array('[{"id": 1, "updated_at": "2026-01-01T00:00:00Z"}]')
    validate_records(spec, texts, run_id="warm-up", extracted_at=datetime.now(UTC))


def bench_settings(env: dict[str, str], data_dir: Path, start: date) -> Settings:
    return Settings.from_env(
        {**env, "JOURNEY_DATA_DIR": str(data_dir), "JOURNEY_PARTITIONS_START": str(start)}
    )


def print_row(name: str, pages: object, records: int, seconds: float) -> None:
    rate = records / seconds if seconds else 0.0
    print(f"  {name:<32} {pages!s:>7} {records:>10} {seconds:>9.2f} {rate:>12,.0f}")


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def serve(dataset: Path, env_queue: multiprocessing.Queue, sources: tuple[str, ...]) -> None:
    """The sandbox, in a process of its own so its memory is not counted as extraction's; it
    loads only the sources extracted."""
    server = SandboxServer(dataset, call_limit=(400, 20.0), sources=sources)
    env_queue.put(server.env())
    server.serve_forever()


def extract_all(
    env: dict[str, str],
    data_dir: Path,
    first: date,
    last_day: date,
    sources: tuple[str, ...] = VENDOR_SOURCES,
) -> dict:
    """A full-refresh extraction of `sources` (every vendor source by default), in a fresh process."""
    warm_up()
    settings = bench_settings(env, data_dir, first)
    rows = []
    for source in sources:
        window = plan_window(
            settings, source, first_day=last_day, last_day=last_day, full_refresh=True
        )
        results = extract_source(
            source, settings, window=window, run_id="bench", load_date=last_day
        )
        rows += [(f"{source}/{r.stream}", r.pages, r.records, r.seconds) for r in results]
    return {"rows": rows, "peak_rss_mb": peak_rss_mb()}


def land_all(dataset: Path, work: Path) -> dict:
    """`land_vendor_dataset` (run in a fresh process)."""
    warm_up()
    started = time.perf_counter()
    summary = land_vendor_dataset(dataset, work / "landing", work / "quarantine", "bench")
    return {
        "summary": summary,
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
    }


def in_fresh_process(function: Callable[..., dict], *args: object) -> dict:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.extract_bench", description=__doc__)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dataset", type=Path, default=None, help="use/generate this folder")
    parser.add_argument(
        "--skip-landing", action="store_true", help="skip the land_vendor_dataset comparison"
    )
    parser.add_argument(
        "--sources",
        nargs="+",
        choices=VENDOR_SOURCES,
        default=list(VENDOR_SOURCES),
        help="extract only these vendor sources (all four by default)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    began = time.perf_counter()
    dataset, origin = ensure_dataset(args.persons, args.seed, args.dataset)
    print(f"dataset {dataset} ({origin}, {time.perf_counter() - began:.1f} s)", flush=True)
    first = dataset_start(dataset)
    last_day = dataset_end(dataset).date()

    work = Path(tempfile.mkdtemp(prefix="extract_bench_"))
    context = multiprocessing.get_context("spawn")
    env_queue = context.Queue()
    sandbox = context.Process(
        target=serve, args=(dataset, env_queue, tuple(args.sources)), daemon=True
    )
    try:
        started = time.perf_counter()
        sandbox.start()
        env = env_queue.get(timeout=600)
        print(f"sandbox (own process) loaded in {time.perf_counter() - started:.1f} s")
        print("\nfull-refresh extraction through the sandbox (HTTP, validation, landing):")
        print(f"  {'stream':<32} {'pages':>7} {'records':>10} {'seconds':>9} {'records/s':>12}")
        extracted = in_fresh_process(
            extract_all, env, work / "data", first, last_day, tuple(args.sources)
        )
        for row in extracted["rows"]:
            print_row(*row)
        print_row(
            "all vendor streams",
            "",
            sum(row[2] for row in extracted["rows"]),
            sum(row[3] for row in extracted["rows"]),
        )
        print(f"  peak RSS of the extraction process: {extracted['peak_rss_mb']:,.0f} MB")
        sandbox.terminate()
        sandbox.join(timeout=30)

        if not args.skip_landing:
            print("\nland_vendor_dataset (same rows, no HTTP):")
            landed = in_fresh_process(land_all, dataset, work)
            streams = landed["summary"]["streams"]
            for name, item in streams.items():
                if item["records"]:
                    print_row(name, "", item["records"], item["seconds"])
            records = sum(item["records"] for item in streams.values())
            print_row("all streams", "", records, landed["seconds"])
            print(f"  peak RSS of the landing process: {landed['peak_rss_mb']:,.0f} MB")
    finally:
        if sandbox.is_alive():
            sandbox.terminate()
            sandbox.join(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
