"""The pandas frames the suites validate (GX 1.x has no Polars support; its SQL datasource
does not work on DuckDB), built in DuckDB.

* Landing: the records of one stream landed by one run — the files
  `{landing}/{source}/{stream}/load_date=*/{run_id}-*.parquet` (contracts §3), filtered on
  `_run_id` — with the suite's contract fields parsed out of the record JSON. Blank text
  counts as absent (Mailchimp sends "" for unset timestamps). Timestamps are parsed exactly
  as dbt staging parses them (`dbt_project/macros/timestamps.sql`): ISO-8601 with an offset
  is converted to UTC, without one it is taken as UTC; unix seconds become a timestamp.
  Every typed field `f` also gives `f__text`, the raw text, so "parseable" can be checked.
* Warehouse: the suite's query on the build warehouse, opened read-only.
"""

from __future__ import annotations

import glob
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.quality.suites import TEXT_SUFFIX, LandingField, LandingFrame, WarehouseFrame

_LANDING_COLUMNS = (
    "record_id varchar, _record_hash varchar, record_updated_at timestamptz, "
    "record varchar, _run_id varchar"
)
_ISO_WITH_OFFSET = r"[T ][0-9:.]+(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$"
_UNIX_LIMIT = 100_000_000_000  # seconds; beyond year 5138, not a timestamp


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _raw_text(item: LandingField) -> str:
    value = f"json_extract_string(record, {_sql_string(item.path)})"
    return f"case when trim({value}) = '' then null else {value} end"


def _typed(item: LandingField, raw: str) -> str:
    if item.type == "text":
        return raw
    if item.type == "integer":
        return f"try_cast({raw} as bigint)"
    if item.type == "number":
        return f"try_cast({raw} as double)"
    if item.type == "boolean":
        return f"try_cast({raw} as boolean)"
    if item.type == "timestamp_iso":
        return (
            f"case when regexp_matches(trim({raw}), {_sql_string(_ISO_WITH_OFFSET)}) "
            f"then timezone('UTC', try_cast(trim({raw}) as timestamptz)) "
            f"else try_cast(trim({raw}) as timestamp) end"
        )
    if item.type == "timestamp_unix":
        seconds = f"try_cast({raw} as double)"
        return (
            f"case when abs({seconds}) < {_UNIX_LIMIT} "
            f"then make_timestamp(cast(round({seconds} * 1000000) as bigint)) end"
        )
    raise ValueError(f"unknown field type {item.type!r}")


def landing_sql(frame: LandingFrame, relation: str) -> str:
    """The select that turns landed rows (`relation`) into the frame's columns."""
    columns = [
        "record_id",
        "_record_hash",
        "timezone('UTC', record_updated_at) as record_updated_at",
    ]
    for item in frame.fields:
        raw = _raw_text(item)
        columns.append(f'{_typed(item, raw)} as "{item.name}"')
        if item.type != "text":
            columns.append(f'{raw} as "{item.name}{TEXT_SUFFIX}"')
    return f"select {', '.join(columns)} from {relation}"


def landed_files(landing_dir: Path, source: str, stream: str, run_id: str) -> list[Path]:
    folder = Path(landing_dir) / source / stream
    return sorted(folder.glob(f"load_date=*/{glob.escape(run_id)}-*.parquet"))


def landing_frame(landing_dir: Path, frame: LandingFrame, run_id: str) -> pd.DataFrame:
    """The records of `frame`'s stream landed by `run_id`, contract fields parsed."""
    files = landed_files(landing_dir, frame.source, frame.stream, run_id)
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        if files:
            listing = ", ".join(_sql_string(str(path)) for path in files)
            relation = (
                f"(select record_id, _record_hash, record_updated_at, record, _run_id "
                f"from read_parquet([{listing}], union_by_name = true) "
                f"where _run_id = {_sql_string(run_id)})"
            )
        else:
            con.execute(f"create temp table no_records ({_LANDING_COLUMNS})")
            relation = "no_records"
        return con.sql(landing_sql(frame, relation) + " order by record_id, _record_hash").df()
    finally:
        con.close()


def warehouse_frame(warehouse_path: Path, frame: WarehouseFrame) -> pd.DataFrame:
    """`frame.query` on the warehouse file, opened read-only (no writer is open meanwhile:
    the nightly job runs its steps one after another in one process)."""
    if not Path(warehouse_path).exists():
        raise FileNotFoundError(
            f"no warehouse at {warehouse_path}: the dbt build did not run or wrote elsewhere"
        )
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        return con.sql(frame.query).df()
    finally:
        con.close()
