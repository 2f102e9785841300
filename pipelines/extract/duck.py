"""A DuckDB connection per thread, for the JSON work of the extraction layer.

DuckDB's JSON functions parse a record once per call and work on whole columns, so splitting a
response body into record texts, checking field types and hashing stay columnar. Connections
are not shared between threads (the sandbox server and the connectors run in several).
"""

from __future__ import annotations

import threading

import duckdb
import polars as pl

_local = threading.local()


def connection() -> duckdb.DuckDBPyConnection:
    con = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(":memory:")
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        _local.con = con
    return con


def query(sql: str, parameters: list | None = None, **frames: pl.DataFrame) -> pl.DataFrame:
    """Run `sql` with each keyword frame registered under its name; return a Polars frame."""
    con = connection()
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        return con.execute(sql, parameters or []).pl()
    finally:
        for name in frames:
            con.unregister(name)


def split_json_array(body: str, path: str = "$") -> pl.Series:
    """The elements of the JSON array at `path` of `body`, each as minified JSON text.

    Key order and values are kept; whitespace is dropped (the text is re-serialised once, the
    same way `minify_json` does it, so every path into landing yields the same text).
    """
    frame = query(
        "select unnest(coalesce(json_extract(?::VARCHAR, ?)::JSON[], []))::VARCHAR as record",
        [body, path],
    )
    return frame.get_column("record").cast(pl.String)


def minify_json(texts: pl.Series) -> pl.Series:
    """Each JSON text re-serialised exactly as `split_json_array` would serve it."""
    if texts.len() == 0:
        return texts.cast(pl.String).rename("record")
    frame = query(
        "select json(record)::VARCHAR as record from texts", texts=texts.to_frame("record")
    )
    return frame.get_column("record").cast(pl.String)
