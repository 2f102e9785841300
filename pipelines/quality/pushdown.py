"""Warehouse suites pushed down to DuckDB: counts in SQL, only the offending rows to pandas.

A mart suite's frame can hold millions of rows; copying it into pandas so that Great
Expectations can test every row costs gigabytes. Instead the suite's query is materialised
once as a DuckDB temp table (compressed, spillable; its `rowid` is the row's position in the
frame, the index the pandas frame would have had), and for every expectation DuckDB computes,
with Great Expectations' own pandas semantics:

* the frame's row count (the `element_count` of every check, and the observed value of
  `expect_table_row_count_to_be_between`);
* per row-level check: how many rows break it (`unexpected_count`), how many are missing
  (null, or NaN in a float column: what pandas calls null), and the positions of the first
  `PARTIAL_ROWS` offenders — for `*_to_be_unique`, also the first two rows of every
  duplicated value among them, so that the offenders are still duplicates in the small frame;
* for `expect_column_values_to_be_in_set`, every value outside the set with its row count.

`Reduced.frame` is the union of those offending rows (index = their positions in the whole
frame): GX validates that small frame, so its verdicts, offending values and sample positions
are its own, and `runner.py` fills in the whole-frame counts computed here (and checks that GX
and DuckDB agree). Suites with an expectation kind or argument not listed in `SUPPORTED`
are validated on the whole frame as before (`supports`).

Semantics kept (GX 1.x, pandas): nulls are skipped by column map expectations and counted as
unexpected by `expect_column_values_to_not_be_null`; bounds are inclusive unless `strict_*`;
a string bound on a timestamp column is parsed as a timestamp; `ignore_row_if` as GX reads
it (pair default `both_values_are_missing`, compound default `all_values_are_missing`); a pair
comparison with one value missing (and not ignored) is unexpected; compound duplicates treat
missing values as equal (pandas `duplicated`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipelines.quality.suites import ROW_COUNT_EXPECTATION, ExpectationSpec, Suite, WarehouseFrame
from pipelines.settings import DuckdbLimits

PARTIAL_ROWS = 20
"""Offending rows kept per check: GX's `partial_unexpected_count` in the runner."""
UNEXPECTED_VALUES = 20
FRAME_TABLE = "__quality_frame"
POSITION = "__position"

_ROW_KINDS = {
    "expect_column_values_to_not_be_null": {"column"},
    "expect_column_values_to_be_between": {
        "column",
        "min_value",
        "max_value",
        "strict_min",
        "strict_max",
    },
    "expect_column_values_to_be_in_set": {"column", "value_set"},
    "expect_column_values_to_be_unique": {"column"},
    "expect_compound_columns_to_be_unique": {"column_list", "ignore_row_if"},
    "expect_column_pair_values_a_to_be_greater_than_b": {
        "column_A",
        "column_B",
        "or_equal",
        "ignore_row_if",
    },
}
SUPPORTED: dict[str, set[str]] = {**_ROW_KINDS, ROW_COUNT_EXPECTATION: {"min_value", "max_value"}}
"""Expectation kinds (and the kwargs of each) computed in DuckDB."""


@dataclass(frozen=True)
class CheckCounts:
    """One row-level check over the whole frame."""

    unexpected: int
    missing: int
    positions: tuple[int, ...]
    """Positions of the first offending rows (at most PARTIAL_ROWS), in frame order."""
    unexpected_values: list[dict[str, Any]] | None = None
    """`expect_column_values_to_be_in_set`: values outside the set, with their row counts."""


@dataclass(frozen=True)
class Reduced:
    """A suite's frame reduced to its row count, per-check counts and offending rows."""

    rows: int
    frame: pd.DataFrame
    """The offending rows of every check, index = position in the whole frame."""
    counts: dict[str, CheckCounts] = field(default_factory=dict)
    """Row-level checks by `meta.check` (table-level checks have none)."""
    errors: dict[str, str] = field(default_factory=dict)
    """Checks DuckDB could not compute (a column the frame lacks, a bound of the wrong type),
    with the reason: they fail as not evaluable."""


def computable(suite: Suite) -> bool:
    """Whether DuckDB computes every expectation of `suite` (kinds and arguments)."""
    return all(
        spec.type in SUPPORTED
        and set(spec.kwargs) <= SUPPORTED[spec.type]
        and "row_condition" not in spec.kwargs
        for spec in suite.expectations
    )


def supports(suite: Suite) -> bool:
    """Whether `suite` reads the warehouse and is computed in DuckDB (else: whole-frame GX)."""
    return isinstance(suite.frame, WarehouseFrame) and computable(suite)


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _literal(value: Any, column_type: str) -> str:
    """`value` as a SQL literal, typed like the column it is compared with."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        raise ValueError(f"suite parameter {value} is not resolved")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, datetime):
        return f"timestamp '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    text = "'" + str(value).replace("'", "''") + "'"
    if column_type.startswith("TIMESTAMP"):
        return f"cast({text} as timestamp)"  # GX parses a string bound on a datetime column
    return text


class _Columns:
    def __init__(self, types: dict[str, str]) -> None:
        self.types = types

    def type(self, column: str) -> str:
        if column not in self.types:
            raise KeyError(f"column {column!r} is not in the frame (columns: {sorted(self.types)})")
        return self.types[column]

    def missing(self, column: str) -> str:
        """Null as pandas sees it: NULL, or NaN in a float column."""
        name = _ident(column)
        if self.type(column) in ("FLOAT", "DOUBLE"):
            return f"({name} is null or isnan({name}))"
        return f"({name} is null)"


def _unexpected_sql(spec: ExpectationSpec, kwargs: dict[str, Any], cols: _Columns) -> str:
    """The predicate of a row breaking a row-level check (windows referenced by name)."""
    kind = spec.type
    if kind == "expect_column_values_to_not_be_null":
        return cols.missing(kwargs["column"])
    if kind == "expect_column_values_to_be_between":
        column = kwargs["column"]
        name, kind_of = _ident(column), cols.type(column)
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        if low is None and high is None:
            raise ValueError("min_value and max_value cannot both be None")
        inside = []
        if low is not None:
            inside.append(f"{name} {'>' if kwargs.get('strict_min') else '>='} "
                          f"{_literal(low, kind_of)}")  # fmt: skip
        if high is not None:
            inside.append(f"{name} {'<' if kwargs.get('strict_max') else '<='} "
                          f"{_literal(high, kind_of)}")  # fmt: skip
        return f"(not {cols.missing(column)} and not coalesce({' and '.join(inside)}, false))"
    if kind == "expect_column_values_to_be_in_set":
        column = kwargs["column"]
        values = list(kwargs.get("value_set") or [])
        if not values:
            return f"(not {cols.missing(column)})"
        listed = ", ".join(_literal(value, cols.type(column)) for value in values)
        return f"(not {cols.missing(column)} and {_ident(column)} not in ({listed}))"
    if kind in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
        return f"({_ident(_group_rows(spec.check))} > 1 and not {_ignored(spec, kwargs, cols)})"
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = _ident(kwargs["column_A"]), _ident(kwargs["column_B"])
        operator = ">=" if kwargs.get("or_equal") else ">"
        return f"(not {_ignored(spec, kwargs, cols)} and not coalesce({a} {operator} {b}, false))"
    raise ValueError(f"{kind} is not computed in DuckDB")


def _key_columns(spec: ExpectationSpec, kwargs: dict[str, Any]) -> list[str]:
    if spec.type == "expect_column_values_to_be_unique":
        return [kwargs["column"]]
    if spec.type == "expect_compound_columns_to_be_unique":
        return list(kwargs["column_list"])
    return [kwargs["column_A"], kwargs["column_B"]]


def _ignored(spec: ExpectationSpec, kwargs: dict[str, Any], cols: _Columns) -> str:
    """Rows GX leaves out of a check (nulls of a single column; `ignore_row_if`)."""
    missing = [cols.missing(column) for column in _key_columns(spec, kwargs)]
    if spec.type == "expect_column_values_to_be_unique":
        return missing[0]
    default = (
        "all_values_are_missing"
        if spec.type == "expect_compound_columns_to_be_unique"
        else "both_values_are_missing"
    )
    rule = kwargs.get("ignore_row_if") or default
    if rule in ("all_values_are_missing", "both_values_are_missing"):
        return "(" + " and ".join(missing) + ")"
    if rule in ("any_value_is_missing", "either_value_is_missing"):
        return "(" + " or ".join(missing) + ")"
    if rule == "never":
        return "false"
    raise ValueError(f"ignore_row_if {rule!r} is not supported")


def _group_rows(check: str) -> str:
    return f"__rows_{check}"


def _group_first(check: str) -> str:
    return f"__first_{check}"


def _windows(
    specs: list[ExpectationSpec], kwargs: dict[str, dict[str, Any]], cols: _Columns
) -> list[str]:
    """Per uniqueness check: rows sharing the row's key (among rows GX does not ignore) and
    the key's first position (a group id that needs no comparison of nulls)."""
    windows = []
    for spec in specs:
        if spec.type not in (
            "expect_column_values_to_be_unique",
            "expect_compound_columns_to_be_unique",
        ):
            continue
        keys = ", ".join(_ident(column) for column in _key_columns(spec, kwargs[spec.check]))
        ignored = _ignored(spec, kwargs[spec.check], cols)
        window = f"over (partition by {ignored}, {keys})"
        windows.append(f"count(*) {window} as {_ident(_group_rows(spec.check))}")
        windows.append(f"min({POSITION}) {window} as {_ident(_group_first(spec.check))}")
    return windows


def reduce_frame(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    suite: Suite,
    kwargs_by_check: dict[str, dict[str, Any]] | None = None,
) -> Reduced:
    """Reduce the rows of `relation` (a query or table name on `con`) for `suite`.

    `kwargs_by_check` holds each expectation's kwargs with suite parameters resolved (default:
    the suite's own). Raises for a column the frame lacks (the runner reports it per check).
    """
    kwargs_by_check = kwargs_by_check or {}
    kwargs = {
        spec.check: kwargs_by_check.get(spec.check, spec.kwargs) for spec in suite.expectations
    }
    con.execute(f"drop table if exists {FRAME_TABLE}")
    con.execute(f"create temp table {FRAME_TABLE} as {relation}")
    cols = _Columns(
        {name: str(kind) for name, kind, *_ in con.execute(f"describe {FRAME_TABLE}").fetchall()}
    )
    view = "__quality_checked"
    errors: dict[str, str] = {}
    row_specs = []
    predicates = {}
    for spec in suite.expectations:
        if spec.type not in _ROW_KINDS:
            continue
        try:  # bind each check alone: one bad check must not take the suite's others
            predicate = _unexpected_sql(spec, kwargs[spec.check], cols)
            windows = _windows([spec], kwargs, cols)
            con.execute(
                f"describe select {predicate} from (select *, "
                + ", ".join([f"rowid as {POSITION}", *windows])
                + f" from {FRAME_TABLE})"
            )
        except (KeyError, ValueError, duckdb.Error) as error:
            errors[spec.check] = f"{type(error).__name__}: {error}".splitlines()[0]
            continue
        row_specs.append(spec)
        predicates[spec.check] = predicate
    windows = _windows(row_specs, kwargs, cols)
    con.execute(
        f"create or replace temp view {view} as select *, "
        + ", ".join([f"rowid as {POSITION}", *windows])
        + f" from {FRAME_TABLE}"
    )
    rows, totals = _totals(con, view, row_specs, predicates, kwargs, cols, errors)
    row_specs = [spec for spec in row_specs if spec.check in totals]
    counts: dict[str, CheckCounts] = {}
    wanted: set[int] = set()
    for spec in row_specs:
        unexpected, missing_rows = totals[spec.check]
        positions: tuple[int, ...] = ()
        values = None
        if unexpected:
            predicate = predicates[spec.check]
            positions = tuple(
                int(row[0])
                for row in con.execute(
                    f"select {POSITION} from {view} where {predicate} "
                    f"order by {POSITION} limit {PARTIAL_ROWS}"
                ).fetchall()
            )
            wanted.update(positions)
            if spec.type in ("expect_column_values_to_be_unique",
                             "expect_compound_columns_to_be_unique"):  # fmt: skip
                wanted.update(_partners(con, view, spec.check, predicate, positions))
            if spec.type == "expect_column_values_to_be_in_set":
                values = _unexpected_values(con, view, kwargs[spec.check]["column"], predicate)
        counts[spec.check] = CheckCounts(unexpected, missing_rows, positions, values)
    frame = _rows_at(con, sorted(wanted))
    con.execute(f"drop view {view}")
    con.execute(f"drop table {FRAME_TABLE}")
    return Reduced(rows=rows, frame=frame, counts=counts, errors=errors)


def _totals(
    con: duckdb.DuckDBPyConnection,
    view: str,
    specs: list[ExpectationSpec],
    predicates: dict[str, str],
    kwargs: dict[str, dict[str, Any]],
    cols: _Columns,
    errors: dict[str, str],
) -> tuple[int, dict[str, tuple[int, int]]]:
    """The frame's rows and, per check, its unexpected and missing rows — in one scan. A
    value DuckDB cannot convert at run time (a bound whose type only fails on data) fails that
    check alone: the scan is repeated per check and the failing ones go to `errors`."""

    def aggregates(spec: ExpectationSpec) -> list[str]:
        missing = " and ".join(
            cols.missing(column) for column in _key_columns_or_column(spec, kwargs[spec.check])
        )
        return [
            f"count(*) filter (where {predicates[spec.check]})",
            f"count(*) filter (where {missing})",
        ]

    def scan(chosen: list[ExpectationSpec]) -> tuple[int, ...]:
        selected = ["count(*)", *(sql for spec in chosen for sql in aggregates(spec))]
        row = con.execute(f"select {', '.join(selected)} from {view}").fetchone()
        assert row is not None
        return tuple(int(value) for value in row)

    try:
        row = scan(specs)
        return row[0], {
            spec.check: (row[1 + 2 * number], row[2 + 2 * number])
            for number, spec in enumerate(specs)
        }
    except duckdb.Error:
        if not specs:
            raise
    rows = scan([])[0]
    totals: dict[str, tuple[int, int]] = {}
    for spec in specs:
        try:
            _, unexpected, missing_rows = scan([spec])
        except duckdb.Error as error:
            errors[spec.check] = f"{type(error).__name__}: {error}".splitlines()[0]
            continue
        totals[spec.check] = (unexpected, missing_rows)
    return rows, totals


def _key_columns_or_column(spec: ExpectationSpec, kwargs: dict[str, Any]) -> list[str]:
    if "column" in kwargs:
        return [kwargs["column"]]
    return _key_columns(spec, kwargs)


def _partners(
    con: duckdb.DuckDBPyConnection,
    view: str,
    check: str,
    predicate: str,
    positions: tuple[int, ...],
) -> list[int]:
    """The first two rows of each duplicated key among `positions`: in the small frame every
    offending row of a uniqueness check is still a duplicate."""
    listed = ", ".join(str(position) for position in positions)
    first = _ident(_group_first(check))
    return [
        int(row[0])
        for row in con.execute(
            f"select {POSITION} from {view} where {predicate} and {first} in "
            f"(select {first} from {view} where {POSITION} in ({listed})) "
            f"qualify row_number() over (partition by {first} order by {POSITION}) <= 2"
        ).fetchall()
    ]


def _unexpected_values(
    con: duckdb.DuckDBPyConnection, view: str, column: str, predicate: str
) -> list[dict[str, Any]]:
    """Values outside the set and their row counts, most frequent first, ties by value."""
    name = _ident(column)
    rows = con.execute(
        f"select {name}, count(*) as n from {view} where {predicate} "
        f"group by {name} order by n desc, {name} limit {UNEXPECTED_VALUES}"
    ).fetchall()
    return [{"value": value, "count": int(count)} for value, count in rows]


def _rows_at(con: duckdb.DuckDBPyConnection, positions: list[int]) -> pd.DataFrame:
    """The frame's rows at `positions` (all columns), indexed by position."""
    listed = ", ".join(str(position) for position in positions) or "null"
    frame = con.sql(
        f"select rowid as {POSITION}, * from {FRAME_TABLE} where rowid in ({listed}) order by rowid"
    ).df()
    frame.index = pd.Index(frame.pop(POSITION).astype("int64").tolist())
    return frame


def reduce_warehouse(
    warehouse_path: Path,
    frame: WarehouseFrame,
    suite: Suite,
    kwargs_by_check: dict[str, dict[str, Any]] | None = None,
    limits: DuckdbLimits | None = None,
) -> Reduced:
    """`frame.query` on the warehouse file (read-only), reduced for `suite`; `limits`: the
    run's DuckDB memory ceiling and spill folder."""
    if not Path(warehouse_path).exists():
        raise FileNotFoundError(
            f"no warehouse at {warehouse_path}: the dbt build did not run or wrote elsewhere"
        )
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        if limits:
            limits.apply(con)
        return reduce_frame(con, frame.query, suite, kwargs_by_check)
    finally:
        con.close()


def reduce_pandas(
    frame: pd.DataFrame, suite: Suite, kwargs_by_check: dict[str, dict[str, Any]] | None = None
) -> Reduced:
    """A pandas frame reduced in DuckDB (tests compare this path with whole-frame GX)."""
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.register("__quality_input", frame)
        return reduce_frame(con, "select * from __quality_input", suite, kwargs_by_check)
    finally:
        con.close()
