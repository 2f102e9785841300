"""File drops (docs/contracts.md §4): CSV / NDJSON files under `{JOURNEY_DROP_DIR}/<stream>/`.

Each row lands as one record of source `filedrop` (a CSV row becomes a JSON object of its cells,
as text; an NDJSON line lands as it is). A file landed before (same name, size and sha256) is
not landed again. A malformed row (ragged CSV line, invalid JSON line) goes to quarantine with
its line number; a file missing a required column fails the stream naming file and column.
Parsing is columnar: DuckDB's CSV reader (with its reject table) and JSON functions.
"""

from __future__ import annotations

import csv
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from pipelines.extract.duck import connection, query
from pipelines.extract.errors import SchemaDriftError
from pipelines.extract.landing import (
    LANDING_SCHEMA,
    QUARANTINE_SCHEMA,
    StreamWriter,
    ValidatedPage,
    conform,
    validate_records,
)
from pipelines.extract.streams import StreamSpec

DROP_SUFFIXES = (".csv", ".ndjson", ".jsonl")
CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class DropFile:
    path: Path
    name: str
    size: int
    sha256: str

    @property
    def identity(self) -> tuple[str, int, str]:
        return (self.name, self.size, self.sha256)

    def as_json(self) -> dict:
        return {"name": self.name, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class DropRead:
    records: pl.Series
    """Minified JSON object texts, one per good row."""
    malformed: pl.DataFrame
    """Rows that could not be parsed: `record` (the raw text) and `reason`."""


def list_drop_files(drop_dir: Path, stream: str) -> list[DropFile]:
    folder = Path(drop_dir) / stream
    if not folder.is_dir():
        return []
    files = sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() in DROP_SUFFIXES and not path.name.startswith(".")
    )
    return [_describe(path) for path in files]


def _describe(path: Path) -> DropFile:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return DropFile(path=path, name=path.name, size=path.stat().st_size, sha256=digest.hexdigest())


def read_drop_file(spec: StreamSpec, path: Path) -> DropRead:
    """Parse one drop file; raise `SchemaDriftError` when it lacks a required column."""
    if path.suffix.lower() == ".csv":
        return _read_csv(spec, path)
    return _read_ndjson(spec, path)


def _read_csv(spec: StreamSpec, path: Path) -> DropRead:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), [])
    header = [name.strip() for name in header]
    if len(set(header)) != len(header):
        raise SchemaDriftError(
            f"drop file {path} has duplicate column names in its header: {header}",
            source=spec.source,
            stream=spec.stream,
        )
    missing = [name for name in spec.required if name not in header]
    if missing:
        raise SchemaDriftError(
            f"drop file {path} lacks required column(s) {', '.join(missing)} of stream "
            f"{spec.name} (header: {', '.join(header) or 'empty'}); fix the file or move it out "
            f"of the drop folder, then re-run",
            source=spec.source,
            stream=spec.stream,
        )
    tag = uuid.uuid4().hex
    errors, scans = f"rejects_{tag}", f"scans_{tag}"
    con = connection()
    try:
        records = con.execute(
            f"""select json(to_json(t))::VARCHAR as record from read_csv(
                    ?, columns = ?, header = true, delim = ',', quote = '"', escape = '"',
                    auto_detect = false, strict_mode = true, store_rejects = true,
                    rejects_table = '{errors}', rejects_scan = '{scans}') t""",
            [str(path), dict.fromkeys(header, "VARCHAR")],
        ).pl()
        malformed = con.execute(
            f"""select any_value(csv_line) as record,
                       'malformed CSV row at line ' || line || ': '
                           || arg_min(error_message, column_idx) as reason
                from {errors} group by line order by line"""
        ).pl()
    finally:
        con.execute(f"drop table if exists {errors}")
        con.execute(f"drop table if exists {scans}")
    return DropRead(records.get_column("record").cast(pl.String), malformed)


def _read_ndjson(spec: StreamSpec, path: Path) -> DropRead:
    lines = pl.Series("line", path.read_text(encoding="utf-8-sig").splitlines(), pl.String)
    checked = query(
        """select line, row_number() over () as line_number,
                  json_valid(line) as is_valid
           from lines where trim(line) <> ''""",
        lines=lines.to_frame(),
    )
    good = checked.filter(pl.col("is_valid"))
    records = query("select json(line)::VARCHAR as record from good", good=good.select("line"))
    malformed = checked.filter(~pl.col("is_valid")).select(
        pl.col("line").alias("record"),
        pl.format("malformed JSON at line {}", pl.col("line_number")).alias("reason"),
    )
    return DropRead(records.get_column("record").cast(pl.String), malformed)


def land_drop_file(
    spec: StreamSpec,
    drop_file: DropFile,
    writer: StreamWriter,
    *,
    extracted_at: datetime,
    on_page: Callable[[ValidatedPage], None] | None = None,
) -> None:
    """Validate and land one file through `writer` (chunks of `CHUNK_ROWS` rows, each passed
    to `on_page`); raise `SchemaDriftError` when no row carries a required field."""
    read = read_drop_file(spec, drop_file.path)
    quarantined = _malformed_rows(spec, read.malformed, writer.run_id, extracted_at)
    pages = []
    if quarantined.height:
        pages.append(ValidatedPage(LANDING_SCHEMA.to_frame(), quarantined, ()))
    missing_everywhere = set(spec.required)
    for offset in range(0, read.records.len(), CHUNK_ROWS):
        page = validate_records(
            spec,
            read.records.slice(offset, CHUNK_ROWS),
            run_id=writer.run_id,
            extracted_at=extracted_at,
        )
        missing_everywhere &= set(page.missing_required)
        pages.append(page)
    if read.records.len() and missing_everywhere:
        raise SchemaDriftError(
            f"drop file {drop_file.path}: no record carries required field(s) "
            f"{', '.join(sorted(missing_everywhere))} of stream {spec.name}; fix the file or "
            f"move it out of the drop folder, then re-run",
            source=spec.source,
            stream=spec.stream,
        )
    for page in pages:
        writer.add(page)
        if on_page is not None:
            on_page(page)


def _malformed_rows(
    spec: StreamSpec, malformed: pl.DataFrame, run_id: str, extracted_at: datetime
) -> pl.DataFrame:
    if malformed.height == 0:
        return QUARANTINE_SCHEMA.to_frame()
    frame = query(
        "select record, reason, sha256(record) as _record_hash from malformed", malformed=malformed
    ).with_columns(
        _source=pl.lit(spec.source),
        _stream=pl.lit(spec.stream),
        _run_id=pl.lit(run_id),
        _extracted_at=pl.lit(extracted_at),
    )
    return conform(frame, QUARANTINE_SCHEMA)
