"""File drops (docs/contracts.md §4): CSV / NDJSON files under `{JOURNEY_DROP_DIR}/<stream>/`.

Each row lands as one record of source `filedrop` (a CSV row becomes a JSON object of its cells,
as text; an NDJSON line lands as it is). Parsing is columnar: DuckDB's CSV reader (with its
reject table) and JSON functions, Polars for splitting lines.

What a drop file may not do to a night (issue 18):

* **Encodings.** A file is UTF-8 (a byte-order mark is allowed, and UTF-16/32 with a mark are
  recognised), or it declares its encoding in its name: `orders.latin-1.csv`,
  `reviews.cp1252.csv` (any Python codec name before the last suffix). A file that is neither
  is quarantined as a whole, with the first bad byte's line and column, and never half landed.
* **Lines.** NDJSON is split on `\\n` only (U+2028 and the other Unicode line breaks inside a
  JSON string stay in the record); every reported line number is the physical line in the file
  (blank lines and line breaks inside quoted CSV cells count).
* **Links.** A symbolic link (file or stream folder) is refused with a quarantine row naming it;
  its target is never opened. A file is opened without following links and read once, into a
  private UTF-8 copy (CRLF line ends made LF) that the parsers read, so what lands is exactly
  the content that was hashed.
* **Landed once.** A file is remembered by its content (sha256) in the stream's cursor as soon
  as it is landed, so a retried step or a re-run never lands it again, under any name. A file
  quarantined or refused as a whole is remembered by name and content, so it is reported once.

A malformed row (ragged CSV line, invalid JSON line) goes to quarantine with its line number; a
file missing a required column fails the stream naming file and column.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import os
import stat
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np
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
BLOCK_BYTES = 1 << 20
LANDED, QUARANTINED, REFUSED = "landed", "quarantined", "refused"
_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class DropFile:
    path: Path
    name: str
    size: int
    sha256: str | None
    """Content hash; None for a file that is refused without being read."""
    refused: str | None = None
    """Why the file is not read at all (a symbolic link, not a regular file)."""

    def as_json(self, status: str = LANDED, reason: str | None = None) -> dict:
        entry = {"name": self.name, "size": self.size, "sha256": self.sha256, "status": status}
        if reason:
            entry["reason"] = reason
        return entry


@dataclass(frozen=True)
class DropRead:
    records: pl.Series
    """Minified JSON object texts, one per good row."""
    malformed: pl.DataFrame
    """Rows that could not be parsed: `record` (the raw text) and `reason`."""


@dataclass(frozen=True)
class LandedFile:
    """What `land_drop_file` did with a file: its ledger entry for the stream's cursor."""

    entry: dict


class DropLedger:
    """The files a stream has dealt with (the cursor's `files`): landed ones by content,
    quarantined or refused ones by name and content (so a renamed, fixed file is read)."""

    def __init__(self, entries: tuple[dict, ...] | list[dict]) -> None:
        self.landed = {e["sha256"] for e in entries if e.get("status", LANDED) == LANDED}
        self.reported = {
            (e["name"], e["sha256"]) for e in entries if e.get("status", LANDED) != LANDED
        }

    def knows(self, drop_file: DropFile) -> bool:
        if drop_file.sha256 is not None and drop_file.sha256 in self.landed:
            return True
        return (drop_file.name, drop_file.sha256) in self.reported

    def add(self, entry: dict) -> None:
        if entry["status"] == LANDED:
            self.landed.add(entry["sha256"])
        else:
            self.reported.add((entry["name"], entry["sha256"]))


# ---------------------------------------------------------------------------------------------
# Listing
# ---------------------------------------------------------------------------------------------


def list_drop_files(drop_dir: Path, stream: str) -> list[DropFile]:
    """The stream's drop files, each hashed (or refused, unread), in name order."""
    folder = Path(drop_dir) / stream
    if folder.is_symlink():
        reason = (
            f"folder {stream} is a symbolic link; file drops must be regular files inside the "
            "drop folder: copy the files in instead"
        )
        return [DropFile(folder, stream, 0, None, refused=reason)]
    if not folder.is_dir():
        return []
    files = []
    for entry in sorted(os.scandir(folder), key=lambda item: item.name):
        if entry.name.startswith(".") or Path(entry.name).suffix.lower() not in DROP_SUFFIXES:
            continue
        path = Path(entry.path)
        if entry.is_symlink():
            files.append(DropFile(path, entry.name, 0, None, refused=_refusal(entry.name)))
        elif entry.is_dir(follow_symlinks=False):
            continue
        elif not entry.is_file(follow_symlinks=False):
            files.append(DropFile(path, entry.name, 0, None, refused=_not_regular(entry.name)))
        else:
            files.append(_describe(path))
    return files


def _refusal(name: str) -> str:
    return (
        f"file {name} is a symbolic link; file drops must be regular files inside the drop "
        "folder: copy the file in instead"
    )


def _not_regular(name: str) -> str:
    return f"file {name} is not a regular file (a device, pipe or socket); it is not read"


@contextmanager
def _open_regular(path: Path) -> Iterator[int | str]:
    """A read descriptor of `path` that never follows a symbolic link, or the refusal reason
    when `path` is a link or not a regular file (checked on the opened descriptor)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        if path.is_symlink():
            yield _refusal(path.name)
            return
        raise OSError(f"cannot open drop file {path}: {error.strerror}") from error
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            yield _not_regular(path.name)
            return
        yield descriptor
    finally:
        os.close(descriptor)


def _blocks(descriptor: int) -> Iterator[bytes]:
    while block := os.read(descriptor, BLOCK_BYTES):
        yield block


def _describe(path: Path) -> DropFile:
    with _open_regular(path) as opened:
        if isinstance(opened, str):
            return DropFile(path, path.name, 0, None, refused=opened)
        digest, size = hashlib.sha256(), 0
        for block in _blocks(opened):
            digest.update(block)
            size += len(block)
    return DropFile(path=path, name=path.name, size=size, sha256=digest.hexdigest())


# ---------------------------------------------------------------------------------------------
# Reading: one pass through the file into a private UTF-8 copy
# ---------------------------------------------------------------------------------------------


def declared_encoding(name: str) -> str | None:
    """The text encoding a file name declares before its last suffix (`x.latin-1.csv`)."""
    suffixes = Path(name).suffixes
    if len(suffixes) < 2:
        return None
    candidate = suffixes[-2][1:]
    try:
        info = codecs.lookup(candidate)
    except LookupError:
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None


@dataclass(frozen=True)
class _Copy:
    path: Path | None
    """The UTF-8 copy (None when the file could not be decoded)."""
    sha256: str
    size: int
    problem: str | None = None
    line: int | None = None


def _copy_as_utf8(source: int, target: Path, name: str) -> _Copy:
    """Hash `source`'s bytes and write them to `target` as UTF-8 with LF line ends.

    UTF-8 input is validated and written as it is (less any byte-order mark); a declared or
    marked encoding is decoded and re-encoded. Undecodable input stops the copy (the hash
    still covers the whole file) and says where.
    """
    declared = declared_encoding(name)
    digest, size = hashlib.sha256(), 0
    newlines, line_start = 0, 0  # newlines seen so far; offset where the current line starts
    decoder = None
    pending_cr = b""
    problem, line = None, None
    with open(target, "wb") as sink:
        for block in _blocks(source):
            digest.update(block)
            start, size = size, size + len(block)
            if problem is not None:
                continue  # keep hashing: the ledger remembers the whole file
            if decoder is None:
                encoding = declared or next(
                    (enc for bom, enc in _BOMS if block.startswith(bom)), "utf-8-sig"
                )
                decoder = codecs.getincrementaldecoder(encoding)("strict")
            buffered = decoder.getstate()[0]
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as error:
                data = buffered + block
                offset = start - len(buffered) + error.start  # in the file
                head = block[: max(offset - start, 0)]
                line = newlines + head.count(b"\n") + 1
                if b"\n" in head:
                    line_start = start + head.rfind(b"\n") + 1
                where = f"byte 0x{data[error.start]:02x} at line {line}, column "
                problem = _undecodable(name, declared, where + str(offset - line_start + 1))
                continue
            newlines += block.count(b"\n")
            if b"\n" in block:
                line_start = start + block.rfind(b"\n") + 1
            data = pending_cr + text.encode("utf-8")
            pending_cr = b"\r" if data.endswith(b"\r") else b""
            sink.write(data[: len(data) - len(pending_cr)].replace(b"\r\n", b"\n"))
        if problem is None and decoder is not None:
            try:
                tail = decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                line = newlines + 1
                problem = _undecodable(name, declared, f"a character cut at the end, line {line}")
            else:
                sink.write(pending_cr + tail.encode("utf-8"))
    return _Copy(None if problem else target, digest.hexdigest(), size, problem=problem, line=line)


def _undecodable(name: str, declared: str | None, where: str) -> str:
    if declared:
        return f"file {name} is not valid {declared} ({where}); fix the file or its name"
    stem, suffix = Path(name).stem, Path(name).suffix
    return (
        f"file {name} is not UTF-8 ({where}): declare its encoding in its name, e.g. "
        f"{stem}.latin-1{suffix} or {stem}.cp1252{suffix}"
    )


def read_drop_file(spec: StreamSpec, path: Path, *, name: str | None = None) -> DropRead:
    """Parse one UTF-8 drop file; raise `SchemaDriftError` when it lacks a required column.

    `name` is the drop file's name when `path` is its private copy (for messages).
    """
    label = name or str(path)
    if path.suffix.lower() == ".csv":
        return _read_csv(spec, path, label)
    return _read_ndjson(spec, path)


def _read_csv(spec: StreamSpec, path: Path, label: str) -> DropRead:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), [])
    header = [name.strip() for name in header]
    if len(set(header)) != len(header):
        raise SchemaDriftError(
            f"drop file {label} has duplicate column names in its header: {header}",
            source=spec.source,
            stream=spec.stream,
        )
    missing = [name for name in spec.required if name not in header]
    if missing:
        raise SchemaDriftError(
            f"drop file {label} lacks required column(s) {', '.join(missing)} of stream "
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
                    new_line = '\\n', auto_detect = false, strict_mode = true,
                    store_rejects = true, rejects_table = '{errors}', rejects_scan = '{scans}') t""",
            [str(path), dict.fromkeys(header, "VARCHAR")],
        ).pl()
        # DuckDB's `line` counts rows, not lines; the row's byte position gives its line
        rejected = con.execute(
            f"""select any_value(line_byte_position) - 1 as row_offset,
                       any_value(csv_line) as record,
                       -- a line-level error (a line over the maximum size) has no column
                       coalesce(arg_min(error_message, column_idx), any_value(error_message))
                           as message
                from {errors} group by line order by line"""
        ).pl()
    finally:
        con.execute(f"drop table if exists {errors}")
        con.execute(f"drop table if exists {scans}")
    if rejected.height == 0:
        return DropRead(records.get_column("record").cast(pl.String), _no_malformed())
    # a row the reader re-synchronised on may start with the line breaks of blank lines
    leading = rejected.get_column("record").str.extract(r"^([\r\n]*)", 1).fill_null("")
    lines = (
        _lines_before(path, rejected.get_column("row_offset").to_numpy())
        + leading.str.count_matches("\n").to_numpy()
        + 1
    )
    malformed = rejected.with_columns(line=pl.Series(lines)).select(
        pl.col("record").str.strip_chars_start("\r\n"),
        pl.format("malformed CSV row at line {}: {}", "line", "message").alias("reason"),
    )
    return DropRead(records.get_column("record").cast(pl.String), malformed)


def _lines_before(path: Path, offsets: np.ndarray) -> np.ndarray:
    """How many `\\n` precede each byte offset of the file."""
    data = np.fromfile(path, dtype=np.uint8)
    newlines = np.flatnonzero(data == ord("\n"))
    return np.searchsorted(newlines, offsets.astype(np.int64), side="left")


def _no_malformed() -> pl.DataFrame:
    return pl.DataFrame(schema={"record": pl.String, "reason": pl.String})


def _read_ndjson(spec: StreamSpec, path: Path) -> DropRead:
    text = path.read_text(encoding="utf-8-sig")
    lines = (
        pl.Series("line", [text], pl.String)
        .str.split("\n")
        .explode()
        .str.strip_suffix("\r")
        .to_frame()
        .with_row_index("line_number", offset=1)
    )
    checked = query(
        """select line, line_number, json_valid(line) as is_valid
           from lines where trim(line) <> ''""",
        lines=lines,
    )
    good = checked.filter(pl.col("is_valid"))
    records = query("select json(line)::VARCHAR as record from good", good=good.select("line"))
    malformed = checked.filter(~pl.col("is_valid")).select(
        pl.col("line").alias("record"),
        pl.format("malformed JSON at line {}", pl.col("line_number")).alias("reason"),
    )
    return DropRead(records.get_column("record").cast(pl.String), malformed)


# ---------------------------------------------------------------------------------------------
# Landing
# ---------------------------------------------------------------------------------------------


def land_drop_file(
    spec: StreamSpec,
    drop_file: DropFile,
    writer: StreamWriter,
    *,
    extracted_at: datetime,
    on_page: Callable[[ValidatedPage], None] | None = None,
) -> LandedFile:
    """Validate and land one file through `writer` (chunks of `CHUNK_ROWS` rows, each passed
    to `on_page`) and return its ledger entry; raise `SchemaDriftError` when the file lacks a
    required column or no row carries a required field.

    A refused or undecodable file lands one quarantine row naming it (never its content).
    """
    if drop_file.refused:
        record = json.dumps({"file": drop_file.name})
        _land_pages([_file_quarantine(spec, writer, record, drop_file.refused, extracted_at)],
                    writer, on_page)  # fmt: skip
        return LandedFile(drop_file.as_json(REFUSED, drop_file.refused))
    with tempfile.TemporaryDirectory(prefix="journey-drop-") as folder:
        target = Path(folder) / f"copy{Path(drop_file.name).suffix.lower()}"
        with _open_regular(drop_file.path) as opened:
            if isinstance(opened, str):  # replaced by a link since it was listed
                refused = replace(drop_file, sha256=None, size=0, refused=opened)
                return land_drop_file(spec, refused, writer, extracted_at=extracted_at,
                                      on_page=on_page)  # fmt: skip
            copy = _copy_as_utf8(opened, target, drop_file.name)
        actual = replace(drop_file, sha256=copy.sha256, size=copy.size)
        if copy.path is None:
            record = json.dumps({"file": drop_file.name, "line": copy.line})
            page = _file_quarantine(spec, writer, record, str(copy.problem), extracted_at)
            _land_pages([page], writer, on_page)
            return LandedFile(actual.as_json(QUARANTINED, copy.problem))
        read = read_drop_file(spec, copy.path, name=drop_file.name)
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
            f"drop file {drop_file.name} of stream {spec.name}: no record carries required "
            f"field(s) {', '.join(sorted(missing_everywhere))}; fix the file or move it out of "
            f"the drop folder, then re-run",
            source=spec.source,
            stream=spec.stream,
        )
    _land_pages(pages, writer, on_page)
    return LandedFile(actual.as_json(LANDED))


def _land_pages(
    pages: list[ValidatedPage],
    writer: StreamWriter,
    on_page: Callable[[ValidatedPage], None] | None,
) -> None:
    for page in pages:
        writer.add(page)
        if on_page is not None:
            on_page(page)


def _file_quarantine(
    spec: StreamSpec, writer: StreamWriter, record: str, reason: str, extracted_at: datetime
) -> ValidatedPage:
    frame = pl.DataFrame({"record": [record], "reason": [reason]})
    return ValidatedPage(
        LANDING_SCHEMA.to_frame(),
        _malformed_rows(spec, frame, writer.run_id, extracted_at),
        (),
    )


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
