"""Read state from the published warehouse (read-only): what the last good night left.

A run takes its "previous" state (stable person ids, the history of merges and splits) from
the published warehouse, never from an earlier build — a run that did not publish must not
become anybody's history.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.settings import Settings


def read_published_table(settings: Settings, schema: str, table: str) -> pl.DataFrame | None:
    """The table from the published warehouse, or None if nothing (or not it) is published."""
    path = settings.warehouse_path
    if not path.exists():
        return None
    con = duckdb.connect(str(path), read_only=True)
    try:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
        if not exists:
            return None
        con.execute("set TimeZone = 'UTC'")
        frame = con.sql(f'select * from "{schema}"."{table}"').pl()
    finally:
        con.close()
    # the published instants (TIMESTAMP WITH TIME ZONE) back in the build's convention: naive UTC
    return frame.with_columns(pl.selectors.datetime(time_zone="*").dt.replace_time_zone(None))


def with_history(current: pl.DataFrame, previous: pl.DataFrame | None) -> pl.DataFrame:
    """Append this run's event rows (merges, splits) to the published history, once each.

    Re-running a night adds nothing new, so the history stays identical (idempotent).
    """
    if previous is None or previous.is_empty():
        return current
    previous = previous.select(current.columns).cast(current.schema)
    return pl.concat([previous, current]).unique(maintain_order=True)
