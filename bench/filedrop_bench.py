"""File-drop landing speed: a CSV and an NDJSON drop of N orders, in UTF-8 and in a declared
single-byte encoding (`orders.cp1252.csv`), landed through the real `land_drop_file`.

Prints per file: rows, MB, seconds for the private UTF-8 copy (hash + decode + write), for
parsing and for validating and writing landing Parquet, and rows/s overall; and the machine
load, which moves every figure on a shared machine.

    .venv/bin/python -m bench.filedrop_bench --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from pipelines.extract import filedrop
from pipelines.extract.landing import StreamWriter
from pipelines.extract.streams import stream_spec


def orders(rows: int) -> pl.DataFrame:
    index = pl.int_range(0, rows, eager=True)
    return pl.DataFrame(
        {
            "order_id": "o" + index.cast(pl.String),
            "customer_id": (index % 50_000).cast(pl.String),
            "email": "käufer" + (index % 50_000).cast(pl.String) + "@beispiel.de",
            "created_at": "2026-03-04T10:11:12Z",
            "updated_at": "2026-03-05T10:11:12+01:00",
            "cancelled_at": "",
            "financial_status": "paid",
            "is_test": "false",
            "currency": "EUR",
            "total_price": (index % 997).cast(pl.String) + ".50",
            "total_discounts": "0.00",
            "refunded_amount": "0.00",
            "discount_codes": "",
            "landing_url": "/produkte/grün?utm_source=newsletter",
            "referring_url": "",
        }
    )


def land(path: Path, landing: Path) -> dict[str, float]:
    spec = stream_spec("filedrop", "orders")
    [drop] = [f for f in filedrop.list_drop_files(path.parent.parent, "orders") if f.path == path]
    writer = StreamWriter(landing, landing / "q", "filedrop", "orders", path.stem, date(2026, 1, 1))
    timings: dict[str, float] = {}
    real_copy, real_read = filedrop._copy_as_utf8, filedrop.read_drop_file

    def timed(name, function):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - started

        return run

    filedrop._copy_as_utf8 = timed("copy", real_copy)
    filedrop.read_drop_file = timed("parse", real_read)
    try:
        started = time.perf_counter()
        filedrop.land_drop_file(spec, drop, writer, extracted_at=datetime.now(UTC))
        writer.flush()
        timings["total"] = time.perf_counter() - started
    finally:
        filedrop._copy_as_utf8, filedrop.read_drop_file = real_copy, real_read
    timings["rows"] = writer.landed
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.filedrop_bench", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    frame = orders(args.rows)
    with tempfile.TemporaryDirectory(prefix="filedrop-bench-") as folder:
        root = Path(folder)
        drop = root / "drop" / "orders"
        drop.mkdir(parents=True)
        frame.write_csv(drop / "orders.csv")
        (drop / "orders.cp1252.csv").write_bytes((drop / "orders.csv").read_text().encode("cp1252"))
        frame.write_ndjson(drop / "orders.ndjson")
        print(f"{args.rows:,} orders per file; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} cores")  # fmt: skip
        print(f"{'file':<20} {'MB':>7} {'copy s':>7} {'parse s':>8} {'total s':>8} {'rows/s':>10}")
        for name in ("orders.csv", "orders.cp1252.csv", "orders.ndjson"):
            path = drop / name
            figures = land(path, root / f"landing-{name}")
            assert figures["rows"] == args.rows, figures
            print(
                f"{name:<20} {path.stat().st_size / 1e6:>7.1f} {figures['copy']:>7.2f} "
                f"{figures['parse']:>8.2f} {figures['total']:>8.2f} "
                f"{args.rows / figures['total']:>10,.0f}"
            )
        print(f"(load average at the end: {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
