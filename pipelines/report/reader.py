"""Read the published warehouse for the report: read-only, by mart and column name.

Every query the report runs declares its `Evidence` — the mart and the columns it reads. The
same declaration is the provenance the page shows beside each figure, and what is checked
against the file before the query runs: a warehouse built by an older or newer version of the
marts (a column renamed, a mart not built yet) gives a note naming what is missing, never a
database traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

PUBLISHED_SCHEMAS = ("marts", "identity")


class ReportError(RuntimeError):
    """The report cannot be written; the message is one line saying what and what to do."""


@dataclass(frozen=True)
class Evidence:
    """Where a figure's numbers come from: one published table and the columns read."""

    table: str
    columns: tuple[str, ...]
    schema: str = "marts"

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    def text(self) -> str:
        return f"{self.name} ({', '.join(self.columns)})"


def evidence(table: str, *columns: str, schema: str = "marts") -> Evidence:
    return Evidence(table, tuple(columns), schema)


class PublishedWarehouse:
    """A read-only connection to the published DuckDB file and the columns it holds."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.exists():
            raise ReportError(
                f"no published warehouse at {self.path}; run `make demo` or "
                "`python -m pipelines run` first (or point JOURNEY_WAREHOUSE_PATH at one)"
            )
        try:
            self.con = duckdb.connect(str(self.path), read_only=True)
        except duckdb.Error as error:
            first_line = str(error).splitlines()[0]
            raise ReportError(f"cannot open {self.path} read-only: {first_line}") from error
        self.con.execute("set enable_progress_bar = false")
        # Published timestamps are instants (TIMESTAMP WITH TIME ZONE); the report's periods
        # are UTC days, so comparisons and results are in UTC whatever the machine's zone.
        self.con.execute("set TimeZone = 'UTC'")
        rows = self.con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema in ('marts', 'identity')"
        ).fetchall()
        self.columns: dict[str, set[str]] = {}
        for schema, table, column in rows:
            self.columns.setdefault(f"{schema}.{table}", set()).add(column)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> PublishedWarehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has_table(self, name: str) -> bool:
        return name in self.columns

    def missing(self, needed: Iterable[Evidence]) -> list[str]:
        """What of `needed` the file lacks, as short phrases ([] when everything is there)."""
        problems: list[str] = []
        for item in needed:
            present = self.columns.get(item.name)
            if present is None:
                problems.append(f"{item.name} is not in the warehouse")
                continue
            absent = [column for column in item.columns if column not in present]
            if absent:
                problems.append(f"{item.name} has no column {', '.join(absent)}")
        return list(dict.fromkeys(problems))

    def require(self, needed: Sequence[Evidence]) -> None:
        problems = self.missing(needed)
        if problems:
            raise ReportError(
                f"{self.path} cannot make this report: {'; '.join(problems)} "
                "(is it a Journey Warehouse built by this version? run the nightly job again)"
            )

    def frame(self, sql: str, parameters: dict[str, Any] | None = None) -> pl.DataFrame:
        """The query's rows; instants as naive UTC datetimes (what the report computes with)."""
        frame = self.con.execute(sql, parameters or {}).pl()
        return frame.with_columns(pl.selectors.datetime(time_zone="*").dt.replace_time_zone(None))

    def register(self, name: str, frame: pl.DataFrame) -> None:
        """Make a small frame (the phases, the periods) queryable by name, in memory only."""
        self.con.register(name, frame)
