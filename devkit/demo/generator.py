"""Seeded, deterministic demo data: decide everything (`build_world`), then write the vendor
dataset, file drops, ground truth and manifest of contracts §2 (`generate`)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from devkit.demo import records, truth
from devkit.demo.drops import build_drops
from devkit.demo.email import build_email
from devkit.demo.population import Mix, build_persons
from devkit.demo.records import World
from devkit.demo.shop import build_shop
from devkit.demo.support import build_support
from devkit.demo.util import Period, Streams, utc
from devkit.demo.web import build_web

GENERATOR_VERSION = "1.1.0"
DEFAULT_START, DEFAULT_END = date(2026, 1, 1), date(2026, 9, 30)
TRUTH_CHUNK_ROWS = 2_000_000
DUPLICATE_EVERY = 487  # one exact duplicate row per this many rows of a duplicated stream
VENDOR_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("parent_id", pa.string()),
        ("updated_at", pa.timestamp("us", tz="UTC")),
        ("record", pa.string()),
    ]
)
DROP_FILES = {  # stream: (frame attribute, month column, canonical columns)
    "nps_responses": (
        "nps_responses",
        "responded_at",
        ["response_id", "email", "score", "comment", "responded_at"],
    ),
    "reviews": (
        "reviews",
        "reviewed_at",
        ["review_id", "email", "rating", "title", "reviewed_at", "product_id"],
    ),
    "marketing_spend": (
        "marketing_spend",
        "spend_date",
        ["spend_date", "channel", "source", "medium", "campaign", "spend", "currency"],
    ),
}
OUTPUT_PARTS = ("vendor", "drop", "truth", "manifest.json")


def build_world(
    *, persons: int = 2000, seed: int = 7, start: date = DEFAULT_START, end: date = DEFAULT_END
) -> World:
    """Everything the generator decides, in memory (no files)."""
    period = Period.from_dates(start, end)
    if period.days < 30:
        raise ValueError(f"the period {start}..{end} is shorter than 30 days; journeys need room")
    streams = Streams(seed)
    people, order_plan = build_persons(streams, persons, period, Mix())
    shop = build_shop(streams, people, order_plan, period)
    email = build_email(streams, people, shop, period)
    support = build_support(streams, people, order_plan, period)
    web = build_web(streams, people, shop, email, support, period)
    drops = build_drops(streams, people, shop, web, period)
    return World(period, people, order_plan, shop, email, support, web, drops)


def generate(
    out_dir: Path,
    *,
    persons: int = 2000,
    seed: int = 7,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
) -> dict:
    """Write `out_dir/{vendor,drop,truth}/…` and `out_dir/manifest.json`; returns the manifest."""
    out_dir = Path(out_dir)
    _prepare(out_dir)
    world = build_world(persons=persons, seed=seed, start=start, end=end)
    counts: dict[str, int] = {}
    for (source, stream), encode in records.VENDOR_STREAMS.items():
        path = out_dir / "vendor" / source / f"{stream}.parquet"
        duplicated = (source, stream) in records.DUPLICATED_STREAMS
        counts[path.relative_to(out_dir).as_posix()] = _write_vendor(
            path, encode(world), duplicated
        )
    for stream, (attribute, month_column, columns) in DROP_FILES.items():
        frame = getattr(world.drops, attribute).select(columns)
        counts.update(_write_drop(out_dir, stream, frame, month_column))
    touchpoints = truth.touchpoints(world)
    truth_frames = {
        "identities": (truth.identities(world), None),
        "touchpoints": (touchpoints, truth.published_touchpoints),
        "phases": (truth.phases(touchpoints), None),
        "sessions": (truth.sessions(world), None),
        "orders": (truth.orders(world), None),
    }
    for name, (frame, shape) in truth_frames.items():
        path = out_dir / "truth" / f"{name}.parquet"
        counts[path.relative_to(out_dir).as_posix()] = _write_frame(path, frame, shape)
    manifest = {
        "generator": "devkit.demo",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "persons": persons,
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "row_counts": dict(sorted(counts.items())),
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _prepare(out_dir: Path) -> None:
    """Refuse to write into a folder holding anything but a previous generator output; clear that."""
    if out_dir.exists():
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in OUTPUT_PARTS)
        if foreign:
            raise FileExistsError(
                f"{out_dir} already holds {foreign[:5]}; the generator only writes into an empty folder "
                "or one holding a previous demo dataset. Choose another --out or empty it."
            )
        for name in OUTPUT_PARTS:
            target = out_dir / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def _write_vendor(path: Path, frames: Iterator[pl.DataFrame], duplicated: bool) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with pq.ParquetWriter(path, VENDOR_SCHEMA, compression="zstd") as writer:
        for frame in frames:
            if frame.height == 0:
                continue
            if duplicated:  # the duplicate-delivery trap: a few rows delivered twice
                extra = frame.filter(
                    pl.int_range(pl.len()) % DUPLICATE_EVERY == DUPLICATE_EVERY // 2
                )
                frame = pl.concat([frame, extra])
            frame = frame.with_columns(updated_at=utc("updated_at"))
            writer.write_table(frame.to_arrow().cast(VENDOR_SCHEMA))
            rows += frame.height
    return rows


def _write_frame(
    path: Path, frame: pl.DataFrame, shape: Callable[[pl.LazyFrame], pl.LazyFrame] | None = None
) -> int:
    """Write `frame` (through `shape`, slice by slice, so a large one never doubles in memory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    try:
        for start in range(0, max(frame.height, 1), TRUTH_CHUNK_ROWS):
            part = frame.slice(start, TRUTH_CHUNK_ROWS).lazy()
            table = (shape(part) if shape else part).collect().to_arrow()
            writer = writer or pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table)
    finally:
        if writer:
            writer.close()
    return frame.height


def _write_drop(
    out_dir: Path, stream: str, frame: pl.DataFrame, month_column: str
) -> dict[str, int]:
    """One CSV per month, as a survey tool or ad account would export them."""
    folder = out_dir / "drop" / stream
    folder.mkdir(parents=True, exist_ok=True)
    frame = frame.with_columns(_month=pl.col(month_column).str.slice(0, 7))
    counts = {}
    for month in sorted(frame["_month"].unique().to_list()):
        part = frame.filter(pl.col("_month") == month).drop("_month")
        path = folder / f"{stream}_{month}.csv"
        part.write_csv(path)
        counts[path.relative_to(out_dir).as_posix()] = part.height
    return counts
