"""The generator's vendor dataset (docs/contracts.md §2), read and landed without HTTP.

`served_versions` is the one statement of what the vendor APIs serve at a clock time T: for
each `record_id` every row holding its latest `updated_at <= T` (an exact duplicate row is
served twice), ordered by (`updated_at`, `record_id`). The sandbox server serves exactly that;
`land_vendor_dataset` lands exactly that, through the same validation and writers as the
connectors, so its landing rows equal a full extraction's (bar `_run_id`/`_extracted_at`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from pipelines.extract.duck import minify_json
from pipelines.extract.filedrop import land_drop_file, list_drop_files
from pipelines.extract.landing import (
    SCHEMA_FILE,
    UTC_MICROS,
    StreamWriter,
    ensure_landing_layout,
    ensure_quarantine_layout,
    validate_records,
)
from pipelines.extract.streams import STREAMS, stream_spec, streams_of

log = logging.getLogger("journey.extract")

VENDOR_SOURCES = ("matomo", "mailchimp", "shopify", "zendesk")
VENDOR_SCHEMA = pl.Schema(
    {"record_id": pl.String, "parent_id": pl.String, "updated_at": UTC_MICROS, "record": pl.String}
)
# Streams only reachable through a parent record: Mailchimp's per-campaign reports and the
# ticket metric sets side-loaded with their tickets.
PARENT_STREAMS = {
    ("mailchimp", "sent_to"): "campaigns",
    ("mailchimp", "email_activity"): "campaigns",
    ("mailchimp", "unsubscribes"): "campaigns",
    ("zendesk", "ticket_metrics"): "tickets",
}
PARENTS = {(source, parent) for (source, _), parent in PARENT_STREAMS.items()}
CHUNK_ROWS = 50_000


def vendor_stream_path(dataset_dir: Path, source: str, stream: str) -> Path:
    return Path(dataset_dir) / "vendor" / source / f"{stream}.parquet"


def read_vendor_stream(dataset_dir: Path, source: str, stream: str) -> pl.DataFrame:
    """All versions of one stream with a stable `seq` (row order in the file); empty if absent."""
    path = vendor_stream_path(dataset_dir, source, stream)
    if not path.exists():
        frame = VENDOR_SCHEMA.to_frame()
    else:
        raw = pl.read_parquet(path)
        missing = [name for name in VENDOR_SCHEMA if name not in raw.columns]
        if missing:
            raise ValueError(
                f"vendor dataset file {path} lacks column(s) {', '.join(missing)} "
                f"(contracts §2 wants {', '.join(VENDOR_SCHEMA)})"
            )
        frame = raw.select(
            pl.col("record_id").cast(pl.String),
            pl.col("parent_id").cast(pl.String),
            _as_utc(pl.col("updated_at"), raw.schema["updated_at"]),
            pl.col("record").cast(pl.String),
        )
    return frame.with_row_index("seq")


def _as_utc(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        column = column.dt.replace_time_zone("UTC")
    return column.dt.convert_time_zone("UTC").cast(UTC_MICROS).alias("updated_at")


def dataset_end(dataset_dir: Path) -> datetime:
    """The latest `updated_at` in the vendor dataset (the sandbox's default clock)."""
    ends = [
        pl.scan_parquet(path).select(pl.col("updated_at").max()).collect().item()
        for path in sorted((Path(dataset_dir) / "vendor").glob("*/*.parquet"))
    ]
    ends = [_to_utc(end) for end in ends if end is not None]
    if not ends:
        raise ValueError(f"no vendor records under {Path(dataset_dir) / 'vendor'}")
    return max(ends)


def _to_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def served_versions(frame: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """What the vendor API serves at `as_of` (see module docstring), sorted for paging."""
    visible = frame.filter(pl.col("updated_at") <= _to_utc(as_of))
    return visible.filter(
        pl.col("updated_at") == pl.col("updated_at").max().over("record_id")
    ).sort(["updated_at", "record_id", "seq"])


def parents_with_children(source: str, parents: pl.DataFrame) -> pl.DataFrame:
    """The served parent rows whose child records the vendor still serves: deleting a Zendesk
    ticket (status `deleted`) deletes its metric set, so a deleted ticket side-loads none."""
    if source != "zendesk":
        return parents
    status = pl.col("record").str.json_path_match("$.status")
    return parents.filter((status != "deleted").fill_null(True))


def land_vendor_dataset(
    dataset_dir: Path,
    landing_root: Path,
    quarantine_root: Path,
    run_id: str,
    as_of: datetime | None = None,
    *,
    load_date: date | None = None,
) -> dict:
    """Land the dataset's served versions (and its `drop/` files) straight into landing.

    Returns `{"as_of": ..., "load_date": ..., "streams": {"source/stream": {"records",
    "quarantined", "files", "seconds"}}}`.
    """
    dataset_dir = Path(dataset_dir)
    clock = _to_utc(as_of) if as_of else dataset_end(dataset_dir)
    load_date = load_date or datetime.now(UTC).date()
    ensure_landing_layout(landing_root)
    ensure_quarantine_layout(quarantine_root)
    extracted_at = datetime.now(UTC)
    served: dict[tuple[str, str], pl.DataFrame] = {}
    summary: dict[str, dict] = {}
    for source in VENDOR_SOURCES:
        for stream in streams_of(source):
            started = time.perf_counter()
            rows = served_versions(read_vendor_stream(dataset_dir, source, stream), clock)
            parent = PARENT_STREAMS.get((source, stream))
            if parent:
                parents = parents_with_children(source, served[(source, parent)])
                parent_ids = parents.get_column("record_id").unique()
                rows = rows.filter(pl.col("parent_id").is_in(parent_ids.implode()))
            if (source, stream) in PARENTS:  # children filter by it; other streams are let go
                served[(source, stream)] = rows
            writer = _writer(landing_root, quarantine_root, source, stream, run_id, load_date)
            spec = stream_spec(source, stream)
            for offset in range(0, rows.height, CHUNK_ROWS):
                texts = minify_json(rows.get_column("record").slice(offset, CHUNK_ROWS))
                writer.add(validate_records(spec, texts, run_id=run_id, extracted_at=extracted_at))
            writer.flush()
            summary[f"{source}/{stream}"] = _stream_summary(writer, started)
    drop_dir = dataset_dir / "drop"
    for (source, stream), spec in STREAMS.items():
        if source != "filedrop":
            continue
        started = time.perf_counter()
        writer = _writer(landing_root, quarantine_root, source, stream, run_id, load_date)
        for drop_file in list_drop_files(drop_dir, stream):
            land_drop_file(spec, drop_file, writer, extracted_at=extracted_at)
        writer.flush()
        summary[f"{source}/{stream}"] = _stream_summary(writer, started)
    log.info(
        "landed vendor dataset %s as of %s: %d records, %d quarantined",
        dataset_dir,
        clock.isoformat(),
        sum(item["records"] for item in summary.values()),
        sum(item["quarantined"] for item in summary.values()),
    )
    return {"as_of": clock, "load_date": load_date, "streams": summary}


def _writer(
    landing_root: Path,
    quarantine_root: Path,
    source: str,
    stream: str,
    run_id: str,
    load_date: date,
) -> StreamWriter:
    return StreamWriter(
        landing_root=Path(landing_root),
        quarantine_root=Path(quarantine_root),
        source=source,
        stream=stream,
        run_id=run_id,
        load_date=load_date,
    )


def _stream_summary(writer: StreamWriter, started: float) -> dict:
    return {
        "records": writer.landed,
        "quarantined": writer.quarantined,
        "files": list(writer.files),
        "seconds": round(time.perf_counter() - started, 3),
    }


def keep_only_new_versions(
    landing_dir: Path,
    earlier_runs: Sequence[str],
    new_run: str,
    *,
    asked_again: Callable[[str, str], pl.Expr | None] | None = None,
) -> dict[str, int]:
    """Rewrite the new run's landed files keeping what cursor-based extraction would deliver:
    the rows no earlier run landed (same record id and content hash), plus, where
    `asked_again(source, stream)` gives a filter, the rows it selects (records the job pulls
    again whole, e.g. the Mailchimp window). Returns the rows kept per `source/stream`."""
    keys = ["record_id", "_record_hash"]
    kept: dict[str, int] = {}
    for stream_dir in sorted(p for p in Path(landing_dir).glob("*/*") if p.is_dir()):
        new_files = sorted(stream_dir.glob(f"**/{new_run}-*.parquet"))
        if not new_files:
            continue
        earlier = [
            f for run in earlier_runs for f in sorted(stream_dir.glob(f"**/{run}-*.parquet"))
        ]
        seen = pl.scan_parquet(earlier or [stream_dir / SCHEMA_FILE]).select(keys)
        again = asked_again(stream_dir.parent.name, stream_dir.name) if asked_again else None
        total = 0
        for path in new_files:
            night = pl.scan_parquet(path)
            unseen = night.join(seen, on=keys, how="anti", nulls_equal=True)
            if again is not None:
                wanted = again.fill_null(False)
                unseen = pl.concat([night.filter(wanted), unseen.filter(~wanted)])
            frame = unseen.collect()
            frame.write_parquet(path)
            total += frame.height
        kept[f"{stream_dir.parent.name}/{stream_dir.name}"] = total
    return kept
