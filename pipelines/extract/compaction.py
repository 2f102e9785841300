"""Landing compaction: a record pulled again replaces its earlier landed rows.

The Mailchimp report streams are asked again for every campaign of the window each night
(`mailchimp.py`), so without compaction landing would grow with the number of nights, not
with new data. After a stream's files of the night are renamed into place, `compact_stream`
removes the rows that staging would never read again:

* `superseded` (streams staged at "latest version per record", contracts §3): every row of a
  record but the one staging keeps (greatest `record_updated_at`, then `_extracted_at`, then
  `_record_hash`, exactly `landed_records` in dbt_project/macros/landing.sql);
* `identical` (event streams, staged from every version): only rows whose record id *and*
  content hash repeat a later row's (a later version may hold only the newest events, so a
  differing version is never dropped).

Only files that hold a removable row are rewritten, each to a hidden temporary file that is
fsynced and renamed over the old one (a file whose rows all go is deleted). The row staging
keeps is never removed, so a crash between two files leaves landing complete, and compacting
again finishes the work. Dead rows are found from the key columns alone, in DuckDB.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import polars as pl

from pipelines.extract.landing import SCHEMA_FILE, fsync_directory, stream_dir

Mode = Literal["superseded", "identical"]

COMPACTED: dict[tuple[str, str], Mode] = {
    ("mailchimp", "sent_to"): "superseded",
    ("mailchimp", "unsubscribes"): "superseded",
    ("mailchimp", "email_activity"): "identical",
}
"""Streams pulled again night after night, and which of their rows a newer one replaces."""


@dataclass(frozen=True)
class Compaction:
    files_rewritten: int = 0
    files_deleted: int = 0
    rows_removed: int = 0


def landed_files(landing_root: Path, source: str, stream: str) -> list[Path]:
    folder = stream_dir(landing_root, source, stream)
    if not folder.exists():
        return []
    return sorted(path for path in folder.glob("**/*.parquet") if path.name != SCHEMA_FILE)


def compact_stream(landing_root: Path, source: str, stream: str, mode: Mode) -> Compaction:
    """Remove the rows of `source/stream` that a later landed row replaces (see module doc)."""
    files = landed_files(landing_root, source, stream)
    if not files:
        return Compaction()
    dead = dead_rows(files, mode)
    if dead.height == 0:
        return Compaction()
    rewritten = deleted = 0
    for (name,), rows in dead.group_by("filename", maintain_order=True):
        path = Path(str(name))
        kept = _rewrite_without(path, rows.get_column("file_row_number"))
        if kept == 0:
            deleted += 1
        else:
            rewritten += 1
    return Compaction(rewritten, deleted, dead.height)


def dead_rows(files: list[Path], mode: Mode) -> pl.DataFrame:
    """`filename, file_row_number` of every row a later row replaces."""
    partition = "record_id" if mode == "superseded" else "record_id, _record_hash"
    listing = "[" + ", ".join("'" + str(path).replace("'", "''") + "'" for path in files) + "]"
    sql = f"""
        select filename, file_row_number
        from (
            select
                filename,
                file_row_number,
                row_number() over (
                    partition by {partition}
                    order by record_updated_at desc nulls last, _extracted_at desc,
                        _record_hash desc, filename desc, file_row_number desc
                ) as version_rank
            from read_parquet(
                {listing}, filename = true, file_row_number = true, union_by_name = true
            )
            where record_id is not null
        ) as versions
        where version_rank > 1
        order by filename, file_row_number
    """
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        return con.execute(sql).pl()
    finally:
        con.close()


def _rewrite_without(path: Path, rows: pl.Series) -> int:
    """Rewrite `path` without the given row numbers; delete it when none is left. Returns the
    number of rows kept."""
    total = pl.scan_parquet(path).select(pl.len()).collect().item()
    kept = total - rows.len()
    if kept <= 0:
        path.unlink()
        fsync_directory(path.parent)
        return 0
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        (
            pl.scan_parquet(path, row_index_name="_file_row")
            .filter(~pl.col("_file_row").is_in(rows.cast(pl.UInt32).implode()))
            .drop("_file_row")
            .sink_parquet(temporary, compression="zstd")
        )
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    fsync_directory(path.parent)
    return kept
