"""Landing and quarantine (docs/contracts.md §3): validate records, write Parquet atomically.

* `validate_records` checks a page of JSON record texts against its stream's contract
  (`streams.py`) in one columnar DuckDB pass and splits it into landing rows and quarantine
  rows (each with its reason); a required field absent from the whole page is schema drift.
* `StreamWriter` streams a stream's validated pages, row group by row group, into
  `{landing}/{source}/{stream}/load_date=YYYY-MM-DD/{run_id}-{seq:06d}.parquet` (and the
  quarantine twin): memory holds about one page whatever the volume; each file is written
  to a hidden temporary name, fsynced and renamed when the stream (or the file) ends.
* `ensure_landing_layout` writes the zero-row `_schema.parquet` of every registered stream;
  `read_landing` / `read_quarantine` read a stream back; `deduplicate` applies the staging
  rule (latest version per record) for tests and benchmarks.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from pipelines.extract.duck import query
from pipelines.extract.streams import STREAMS, CheckKind, StreamSpec
from pipelines.extract.values import (
    INVALID_JSON_REASON,
    bad_value_reason,
    duplicate_fields_reason,
    money_ok,
    nul_fields_sql,
    nul_reason,
    record_json,
    value_class,
)

UTC_MICROS = pl.Datetime("us", "UTC")

LANDING_SCHEMA = pl.Schema(
    {
        "_source": pl.String,
        "_stream": pl.String,
        "_run_id": pl.String,
        "_extracted_at": UTC_MICROS,
        "_record_hash": pl.String,
        "_unknown_fields": pl.List(pl.String),
        "record_id": pl.String,
        "record_updated_at": UTC_MICROS,
        "record": pl.String,
    }
)

QUARANTINE_SCHEMA = pl.Schema(
    {
        "_source": pl.String,
        "_stream": pl.String,
        "_run_id": pl.String,
        "_extracted_at": UTC_MICROS,
        "_record_hash": pl.String,
        "record": pl.String,
        "reason": pl.String,
    }
)

SCHEMA_FILE = "_schema.parquet"
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TYPE_SETS = {
    "integer": ("BIGINT", "UBIGINT"),
    "number": ("BIGINT", "UBIGINT", "DOUBLE"),
    "string": ("VARCHAR",),
    "boolean": ("BOOLEAN",),
    "array": ("ARRAY",),
    "object": ("OBJECT",),
}
_UNIX_MAX = 7_258_118_400  # 2200-01-01


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidatedPage:
    landing: pl.DataFrame
    quarantine: pl.DataFrame
    missing_required: tuple[str, ...]
    """Required fields absent from every record of the page (schema drift)."""


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


TEXT_KINDS = ("numeric", "integral", "unix")
"""Check kinds decided by a value's text alone (a JSON number's text or a string's content;
`true` or an object's text never parse as numbers)."""


def _text_ok(kind: CheckKind, text: str) -> str:
    """SQL that is true when the text `text` of a present, non-null value passes `kind`."""
    if kind == "unix":
        return f"coalesce(try_cast({text} as DOUBLE) between 0 and {_UNIX_MAX}, false)"
    number = f"try_cast(trim({text}) as DOUBLE)"
    integral = f" and {number} = trunc({number})" if kind == "integral" else ""
    return f"(trim({text}) = '' or coalesce(isfinite({number}){integral}, false))"


def _check_ok(kind: CheckKind, value: str, text: str) -> str:
    """SQL that is true when a present, non-null JSON `value` (text `text`) passes `kind`."""
    json_type = f"json_type({value})"
    if kind in _TYPE_SETS:
        return f"{json_type} in ({', '.join(map(_sql_string, _TYPE_SETS[kind]))})"
    if kind == "id":
        return (
            f"({json_type} in ('BIGINT', 'UBIGINT') or ({json_type} = 'VARCHAR' and {text} <> ''))"
        )
    if kind in TEXT_KINDS:
        return _text_ok(kind, text)
    if kind == "money":
        return money_ok(value, text)
    if kind == "iso":
        return (
            f"({json_type} = 'VARCHAR' and ({text} = '' "
            f"or try_cast({text} as TIMESTAMPTZ) is not null))"
        )
    if kind == "integer_text":
        return f"({text} = '' or try_cast({text} as BIGINT) is not null)"
    if kind == "number_text":
        return f"({text} = '' or try_cast({text} as DOUBLE) is not null)"
    if kind == "boolean_text":
        return (
            f"({text} = '' or lower({text}) in ('true', 'false', 't', 'f', '1', '0', 'yes', 'no'))"
        )
    raise ValueError(f"unknown check kind {kind!r}")


def _item_checks_sql(
    spec: StreamSpec, array: str, array_value: str, name: str
) -> tuple[str, list[str]]:
    """The items of an array field, checked in one pass over all items of a page.

    Returns a CTE `name` (one row per record that has offending items, keyed by `row_number`)
    and the SQL reasons that read it: an item without a required field (an item that is not an
    object has none), or an item field that fails its check. Item fields are read as text in
    one `json_transform` per record. Each reason names the first offending item (1-based) and,
    when several offend, how many."""
    required = spec.item_required.get(array, ())
    checks = spec.item_checks.get(array, {})
    fields = list(dict.fromkeys([*required, *checks]))
    structure = "[{" + ",".join(f'"{field}":"VARCHAR"' for field in fields) + "}]"

    def text(field: str) -> str:
        return f'item."{field}"'

    conditions = [
        (f"nullif(trim({text(field)}), '') is null", f"has no {field}", None) for field in required
    ]
    conditions += [
        (
            f"{text(field)} is not null and not {_text_ok(kind, text(field))}",
            f"{field} should be {kind}",
            text(field),
        )
        for field, kind in checks.items()
    ]
    flags, aggregates, reasons = [], [], []
    for index, (condition, message, shown) in enumerate(conditions):
        flags.append(f"coalesce({condition}, false) as offends_{index}")
        aggregates.append(f"min(position) filter (where offends_{index}) as first_{index}")
        aggregates.append(f"count(*) filter (where offends_{index}) as count_{index}")
        got = ""
        if shown:
            aggregates.append(
                f"arg_min({shown}, position) filter (where offends_{index}) as got_{index}"
            )
            got = f" || ', got ' || left({name}.got_{index}, 60)"
        reasons.append(
            f"case when {name}.first_{index} is not null then "
            f"{_sql_string(array + '[')} || {name}.first_{index} || '] ' || {_sql_string(message)}"
            f"{got} || case when {name}.count_{index} > 1 "
            f"then ' (' || {name}.count_{index} || ' items)' else '' end end"
        )
    any_offence = " or ".join(f"offends_{index}" for index in range(len(conditions)))
    # Each item's conditions are evaluated once; only offending items reach the aggregation.
    cte = f"""
        {name} as (
            select row_number, {", ".join(aggregates)}
            from (
                select row_number, position, item, {", ".join(flags)}
                from (
                    select
                        row_number,
                        unnest(items) as item,
                        generate_subscripts(items, 1) as position
                    from (
                        select row_number, json_transform({array_value}, '{structure}') as items
                        from parsed
                        where json_type({array_value}) = 'ARRAY'
                    ) as arrays
                ) as items
            ) as flagged
            where {any_offence}
            group by row_number
        )"""
    return cte, reasons


def _validation_sql(spec: StreamSpec) -> tuple[str, list[str]]:
    """One DuckDB statement: per record its hash, key, version, unknown fields and reasons."""
    version = [spec.version_field] if spec.version_field else []
    fields = list(dict.fromkeys([*spec.key_fields, *version, *spec.checks, *spec.required]))
    for name in fields:
        if not _FIELD_NAME.match(name):
            raise ValueError(f"{spec.name}: field name {name!r} is not a plain identifier")
    position = {name: index + 1 for index, name in enumerate(fields)}
    paths = "[" + ", ".join(_sql_string(f'$."{name}"') for name in fields) + "]"

    def value(name: str) -> str:
        return f"v[{position[name]}]"

    def text(name: str) -> str:
        return f"({value(name)} ->> '$')"

    def present(name: str) -> str:
        return f"list_contains(keys, {_sql_string(name)})"

    def not_null(name: str) -> str:
        return f"({value(name)} is not null and json_type({value(name)}) <> 'NULL')"

    key_parts = [f"nullif({text(name)}, '')" for name in spec.key_fields]
    key_missing = " or ".join(f"{part} is null" for part in key_parts)
    record_id = f"case when {key_missing} then null else concat_ws(':', {', '.join(key_parts)}) end"

    reasons: list[str] = [
        f"case when not is_json then {_sql_string(INVALID_JSON_REASON)} end",
        "case when is_json and not is_object then 'record is not a JSON object' end",
        f"case when is_object and ({key_missing}) then "
        f"{_sql_string('missing natural key ' + '+'.join(spec.key_fields))} end",
    ]
    reasons += [
        f"case when is_object and not {present(name)} then "
        f"{_sql_string('missing required field ' + name)} end"
        for name in spec.required
    ]
    reasons += [
        f"case when {present(name)} and not ({not_null(name)} and trim({text(name)}) <> '') then "
        f"{_sql_string('missing ' + name + ' (null or blank)')} end"
        for name in spec.not_blank
    ]
    reasons += [
        f"case when {not_null(name)} and not {_check_ok(kind, value(name), text(name))} then "
        f"'wrong type: ' || {_sql_string(name)} || ' should be {kind}, got ' "
        f"|| left({value(name)}::VARCHAR, 60) end"
        for name, kind in spec.checks.items()
    ]
    # a value of the right type that a later layer could not type (values.py)
    value_checks = dict(spec.checks)
    if spec.version_field:
        value_checks.setdefault(spec.version_field, spec.version_format)
    for name, kind in value_checks.items():
        problem = value_class(kind, text(name))
        if problem is not None:
            reasons.append(
                f"case when {not_null(name)} and {problem} is not null then "
                f"{bad_value_reason(name, kind, value(name), text(name), problem)} end"
            )
    item_ctes, item_joins = (
        ",\n" + nul_fields_sql("document", "nuls"),
        " left join nuls using (row_number)",
    )
    reasons += [nul_reason("nuls"), duplicate_fields_reason("keys")]
    for index, array in enumerate(dict.fromkeys([*spec.item_checks, *spec.item_required])):
        cte, item_reasons = _item_checks_sql(spec, array, value(array), f"items_{index}")
        item_ctes += "," + cte
        item_joins += f" left join items_{index} using (row_number)"
        reasons += item_reasons
    if spec.version_field:
        version_text = text(spec.version_field)
        if spec.version_format == "unix":
            parsed = (
                f"case when try_cast({version_text} as DOUBLE) between 0 and {_UNIX_MAX} "
                f"then to_timestamp(try_cast({version_text} as DOUBLE)) end"
            )
        else:
            parsed = (
                f"case when json_type({value(spec.version_field)}) = 'VARCHAR' "
                f"then try_cast({version_text} as TIMESTAMPTZ) end"
            )
        version = f"date_trunc('microseconds', {parsed})"
        field_label = _sql_string(spec.version_field)
        reasons.append(
            f"case when {present(spec.version_field)} and not {not_null(spec.version_field)} "
            f"then 'missing version timestamp ' || {field_label} "
            f"when {not_null(spec.version_field)} and {parsed} is null "
            f"then 'unparsable timestamp ' || {field_label} || ': ' "
            f"|| left({value(spec.version_field)}::VARCHAR, 60) end"
        )
    else:
        version = "null::TIMESTAMPTZ"

    known = "[" + ", ".join(_sql_string(name) for name in spec.known_fields) + "]::VARCHAR[]"
    presence = ", ".join(
        f"({present(name)} or not is_json) as present_{index}"
        for index, name in enumerate(spec.required)
    )
    sql = f"""
        with documents as (
            select record, {record_json("record")} as document, row_number() over () as row_number
            from page
        ),
        parsed as materialized (
            select
                record,
                document,
                document is not null as is_json,
                coalesce(json_type(document) = 'OBJECT', false) as is_object,
                case when json_type(document) = 'OBJECT' then json_keys(document)
                     else []::VARCHAR[] end as keys,
                json_extract(document, {paths}) as v,
                row_number
            from documents
        ){item_ctes}
        select
            record,
            sha256(record) as _record_hash,
            {record_id} as record_id,
            {version} as record_updated_at,
            list_filter(keys, k -> not list_contains({known}, k)) as _unknown_fields,
            nullif(array_to_string(list_filter([{", ".join(reasons)}], r -> r is not null), '; '), '')
                as reason
            {"," if presence else ""} {presence}
        from parsed{item_joins}
        order by parsed.row_number
    """
    return sql, list(spec.required)


_SQL_CACHE: dict[tuple[str, str], tuple[str, list[str]]] = {}


def validate_records(
    spec: StreamSpec, records: pl.Series, *, run_id: str, extracted_at: datetime
) -> ValidatedPage:
    """Check one page of minified JSON record texts against `spec`.

    Returns the landing rows, the quarantine rows (with `reason`) and the required fields that
    no record of the page carries (the caller fails the stream on those: schema drift).
    """
    if records.len() == 0:
        return ValidatedPage(LANDING_SCHEMA.to_frame(), QUARANTINE_SCHEMA.to_frame(), ())
    sql, required = _SQL_CACHE.get((spec.source, spec.stream)) or _SQL_CACHE.setdefault(
        (spec.source, spec.stream), _validation_sql(spec)
    )
    checked = query(sql, page=records.cast(pl.String).to_frame("record"))
    missing = tuple(
        name
        for index, name in enumerate(required)
        if not checked.get_column(f"present_{index}").any()
    )
    meta = {
        "_source": pl.lit(spec.source),
        "_stream": pl.lit(spec.stream),
        "_run_id": pl.lit(run_id),
        "_extracted_at": pl.lit(extracted_at).cast(UTC_MICROS),
    }
    checked = checked.with_columns(**meta)
    good = checked.filter(pl.col("reason").is_null())
    bad = checked.filter(pl.col("reason").is_not_null())
    return ValidatedPage(
        landing=conform(good, LANDING_SCHEMA),
        quarantine=conform(bad, QUARANTINE_SCHEMA),
        missing_required=missing,
    )


def conform(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """Exactly the contract's columns, in order, with the contract's dtypes."""
    return frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def write_parquet_atomic(frame: pl.DataFrame, path: Path) -> Path:
    """Write `frame` to `path` via a temporary file, fsync it, rename it, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        frame.write_parquet(temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    fsync_directory(path.parent)
    return path


def fsync_directory(folder: Path) -> None:
    """Make a rename inside `folder` durable."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def stream_dir(root: Path, source: str, stream: str) -> Path:
    return Path(root) / source / stream


def ensure_landing_layout(landing_root: Path) -> list[Path]:
    """Give every registered stream folder its zero-row `_schema.parquet` (contracts §3)."""
    return _ensure_layout(landing_root, LANDING_SCHEMA)


def ensure_quarantine_layout(quarantine_root: Path) -> list[Path]:
    """The same for quarantine, so readers can glob it before the first bad record."""
    return _ensure_layout(quarantine_root, QUARANTINE_SCHEMA)


def _ensure_layout(root: Path, schema: pl.Schema) -> list[Path]:
    written = []
    for source, stream in STREAMS:
        path = stream_dir(root, source, stream) / SCHEMA_FILE
        if path.exists() and pl.read_parquet_schema(path) == dict(schema):
            continue
        written.append(write_parquet_atomic(schema.to_frame(), path))
    return written


class _PartFile:
    """One landing (or quarantine) file being written: row groups go to a hidden temporary
    file in the partition folder; `commit` closes, fsyncs and renames it into place, `abort`
    deletes it. Readers glob `*.parquet`, so a file is visible only once it is complete."""

    def __init__(self, folder: Path, schema: pl.Schema) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.temporary = folder / f".part-{uuid.uuid4().hex}.parquet.tmp"
        self.arrow_schema = schema.to_frame().to_arrow(compat_level=pl.CompatLevel.oldest()).schema
        self.writer = pq.ParquetWriter(self.temporary, self.arrow_schema, compression="zstd")
        self.rows = 0
        self.row_groups = 0

    def write(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(self.arrow_schema)
        self.writer.write_table(table, row_group_size=max(frame.height, 1))
        self.rows += frame.height
        self.row_groups += 1

    def commit(self, run_id: str) -> Path:
        self.writer.close()
        try:
            with open(self.temporary, "rb+") as handle:
                os.fsync(handle.fileno())
            path = self.folder / f"{run_id}-{_next_seq(self.folder, run_id):06d}.parquet"
            os.replace(self.temporary, path)
        finally:
            self.temporary.unlink(missing_ok=True)
        fsync_directory(self.folder)
        return path

    def abort(self) -> None:
        try:
            self.writer.close()
        finally:
            self.temporary.unlink(missing_ok=True)


@dataclass
class StreamWriter:
    """Streams a stream's validated pages into landing/quarantine Parquet files, row group by
    row group, so memory holds at most one row group (about one page) whatever the volume.

    Pages are buffered until `row_group_rows` rows or `row_group_bytes` bytes of record text,
    then written as one row group of the open file (a hidden temporary file). `flush()`
    closes the open files and renames them into place, as does reaching `file_rows` rows;
    `abort()` deletes them (nothing half-written is ever visible). Sequence numbers continue
    after any file the same run id already wrote to the folder, so a retried run never
    overwrites its earlier files.
    """

    landing_root: Path
    quarantine_root: Path
    source: str
    stream: str
    run_id: str
    load_date: date
    row_group_rows: int = 20_000
    row_group_bytes: int = 16 * 1024 * 1024
    file_rows: int = 2_000_000
    files: list[str] = field(default_factory=list)
    landed: int = 0
    quarantined: int = 0
    _landing: list[pl.DataFrame] = field(default_factory=list)
    _quarantine: list[pl.DataFrame] = field(default_factory=list)
    _rows: int = 0
    _bytes: int = 0
    _open: dict[str, _PartFile] = field(default_factory=dict)
    _hashes: list[np.ndarray] = field(default_factory=list)

    @property
    def buffered_rows(self) -> int:
        """Rows held in memory, not yet written to a row group."""
        return self._rows

    def add(self, page: ValidatedPage) -> None:
        if page.landing.height:
            self._landing.append(page.landing)
            # 8 bytes per row for the duplicate count: a record's hash decides its id too
            self._hashes.append(page.landing.get_column("_record_hash").hash(seed=0).to_numpy())
        if page.quarantine.height:
            self._quarantine.append(page.quarantine)
        self._rows += page.landing.height + page.quarantine.height
        self._bytes += int(page.landing.get_column("record").str.len_bytes().sum() or 0)
        self._bytes += int(page.quarantine.get_column("record").str.len_bytes().sum() or 0)
        if self._rows >= self.row_group_rows or self._bytes >= self.row_group_bytes:
            self._write_row_groups()

    def flush(self) -> None:
        """Write what is buffered and make every open file visible."""
        self._write_row_groups()
        for kind, part in list(self._open.items()):
            self._commit(kind, part)

    def abort(self) -> None:
        """Drop what is buffered and delete the open files (after an error)."""
        self._landing, self._quarantine, self._rows, self._bytes = [], [], 0, 0
        for part in self._open.values():
            part.abort()
        self._open.clear()

    def duplicates(self) -> int:
        """Rows of this batch that repeat an earlier row's record id and hash exactly."""
        if not self._hashes:
            return 0
        hashes = np.concatenate(self._hashes)
        return int(hashes.size - np.unique(hashes).size)

    def _write_row_groups(self) -> None:
        for kind, pages in (("landing", self._landing), ("quarantine", self._quarantine)):
            if pages:
                self._part(kind).write(pl.concat(pages, rechunk=True))
        self._landing, self._quarantine, self._rows, self._bytes = [], [], 0, 0
        for kind, part in list(self._open.items()):
            if part.rows >= self.file_rows:
                self._commit(kind, part)

    def _part(self, kind: str) -> _PartFile:
        if kind not in self._open:
            root, schema = (
                (self.landing_root, LANDING_SCHEMA)
                if kind == "landing"
                else (self.quarantine_root, QUARANTINE_SCHEMA)
            )
            folder = (
                stream_dir(root, self.source, self.stream) / f"load_date={self.load_date:%Y-%m-%d}"
            )
            self._open[kind] = _PartFile(folder, schema)
        return self._open[kind]

    def _commit(self, kind: str, part: _PartFile) -> None:
        del self._open[kind]
        path = part.commit(self.run_id)
        if kind == "landing":
            self.files.append(str(path))
            self.landed += part.rows
        else:
            self.quarantined += part.rows


def _next_seq(folder: Path, run_id: str) -> int:
    prefix = f"{run_id}-"
    taken = [
        int(path.stem[len(prefix) :])
        for path in folder.glob(f"{glob_escape(prefix)}*.parquet")
        if path.stem[len(prefix) :].isdigit()
    ]
    return max(taken, default=0) + 1


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def read_landing(landing_root: Path, source: str, stream: str) -> pl.DataFrame:
    """Every landed row of a stream (all load dates, all runs), with the contract's columns."""
    return _read(stream_dir(landing_root, source, stream), LANDING_SCHEMA)


def read_quarantine(quarantine_root: Path, source: str, stream: str) -> pl.DataFrame:
    return _read(stream_dir(quarantine_root, source, stream), QUARANTINE_SCHEMA)


def _read(folder: Path, schema: pl.Schema) -> pl.DataFrame:
    files: Iterable[Path] = sorted(folder.glob("**/*.parquet")) if folder.exists() else []
    frames = [pl.read_parquet(path, hive_partitioning=False) for path in files]
    if not frames:
        return schema.to_frame()
    return conform(pl.concat(frames, how="diagonal_relaxed"), schema)


def deduplicate(frame: pl.DataFrame) -> pl.DataFrame:
    """Latest version per record: the dbt staging rule of contracts §3, for tests and bench."""
    return (
        frame.sort(
            ["record_id", "record_updated_at", "_extracted_at", "_record_hash"],
            descending=[False, True, True, True],
            nulls_last=True,
        )
        .unique(subset="record_id", keep="first", maintain_order=True)
        .sort("record_id")
    )
