"""The PostgreSQL target (optional): the analyst surface copied into PostgreSQL, swapped atomically.

For BI tools that cannot embed DuckDB. With `JOURNEY_POSTGRES_URL` set, each generation the
DuckDB side publishes is copied into PostgreSQL, schema for schema (`marts`, `identity`):

* **load** into `<schema>__next`: tables created with exact column types (`postgres_type`, the
  mapping documented in README "Connect your BI tool"), rows streamed from DuckDB as Arrow and
  written with PostgreSQL's binary COPY (ADBC), then the primary key on each table's grain (the
  generation's recorded grains), an index on every other `*_id` column (the join keys), the
  table and column comments, and the readers' grants of the live schema. All in one
  transaction: a failed load leaves nothing behind. The schema's comment names the generation.
* **swap** in one transaction: `<schema>` becomes `<schema>__previous` (kept for rollback) and
  `<schema>__next` becomes `<schema>`; a BI tool sees the old or the new tables, never a mix.
* **reconcile** makes PostgreSQL hold what the generation pointer says (live = current,
  `__previous` = previous or nothing), by renames where it can and by a load where it must: it
  completes a swap a crash interrupted, follows a rollback, and drops a previous generation the
  pointer discarded (erasure).

A schema's generation is read from its comment, so renames carry it along. Nothing here
imports Dagster; `publish.py` decides when each step runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from pipelines.errors import JourneyError
from pipelines.settings import Secret
from pipelines.warehouse.faults import fault_point
from pipelines.warehouse.surface import (
    PUBLISHED_SCHEMAS,
    PublishedTable,
    SurfaceSpec,
    TableSpec,
    comment_statements,
    describe_tables,
    literal,
    quote,
)

NEXT, PREVIOUS, SWAP = "__next", "__previous", "__swap"
ROLES = {"live": "", "previous": PREVIOUS, "next": NEXT}
MARKER = re.compile(r"generation (\S+)")
BATCH_ROWS = 100_000
LOCK_TIMEOUT = "60s"  # a long BI query on the previous tables must not stall the swap forever

_SCALAR_TYPES = {
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric(38,0)",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20,0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "VARCHAR": "text",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "BLOB": "bytea",
    "JSON": "json",  # binary COPY writes text; jsonb's binary form needs a version byte
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")


class PostgresError(JourneyError):
    """The PostgreSQL target refused or failed (the message says what, never the password)."""


def postgres_type(duckdb_type: str) -> str:
    """The PostgreSQL column type that holds every value of a DuckDB type exactly.

    Raises PostgresError for types without an exact counterpart (nested lists, structs, maps,
    unions, nanosecond timestamps, UHUGEINT): the marts must not publish them."""
    if duckdb_type in _SCALAR_TYPES:
        return _SCALAR_TYPES[duckdb_type]
    decimal = _DECIMAL.fullmatch(duckdb_type)
    if decimal:
        return f"numeric({decimal.group(1)},{decimal.group(2)})"
    if duckdb_type.endswith("[]") and not duckdb_type[:-2].endswith("]"):
        return postgres_type(duckdb_type[:-2]) + "[]"
    raise PostgresError(
        f"DuckDB type {duckdb_type} has no exact PostgreSQL type; publish it as a scalar, a "
        "list of scalars, or JSON text"
    )


def index_columns(table: PublishedTable) -> list[str]:
    """The join keys that get an index: every `*_id` column (the house naming of keys) except
    the first column of the primary key, which its own index already serves."""
    leading = table.spec.primary_key[:1]
    return [c.name for c in table.columns if c.name.endswith("_id") and c.name not in leading]


def load_select(table: PublishedTable) -> str:
    """The DuckDB query whose Arrow batches are copied (binary COPY) into the table. Arrow has no
    UUID type DuckDB exports by default: a UUID travels as its 16 bytes, PostgreSQL's binary
    form of `uuid`."""
    columns = [
        f"unhex(replace(cast({quote(c.name)} as varchar), '-', '')) as {quote(c.name)}"
        if c.data_type == "UUID"
        else quote(c.name)
        for c in table.columns
    ]
    return f"select {', '.join(columns)} from {table.qualified}"


def create_table_sql(schema: str, table: PublishedTable) -> str:
    columns = ", ".join(f"{quote(c.name)} {postgres_type(c.data_type)}" for c in table.columns)
    return f"create table {quote(schema)}.{quote(table.name)} ({columns})"


@dataclass(frozen=True)
class PostgresState:
    """The generation each role's schemas hold (None: absent, or not all the same), and which
    of the schemas exist."""

    live: str | None
    previous: str | None
    next: str | None
    present: frozenset[str] = frozenset()


class PostgresTarget:
    def __init__(self, url: Secret, schemas: tuple[str, ...] = PUBLISHED_SCHEMAS) -> None:
        self._url = url
        self.schemas = schemas

    # --- connection and errors -------------------------------------------------------------

    @contextmanager
    def connect(self) -> Iterator[Any]:
        import adbc_driver_postgresql.dbapi as adbc

        try:
            connection = adbc.connect(self._url.reveal())
        except Exception as error:  # the driver's own error types; the message is scrubbed
            raise PostgresError(
                f"cannot connect to PostgreSQL at JOURNEY_POSTGRES_URL: {self._scrub(error)}"
            ) from None
        try:
            yield connection
        finally:
            connection.close()

    def _scrub(self, error: BaseException) -> str:
        """The error's first line, with the URL and its password masked."""
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        url = self._url.reveal()
        password = re.match(r"^[a-z]+://[^:/@]*:([^@]*)@", url)
        for secret in (url, password.group(1) if password else ""):
            if secret:
                text = text.replace(secret, "***")
        return text

    def _fail(self, what: str, error: BaseException) -> PostgresError:
        return PostgresError(f"PostgreSQL {what} failed: {self._scrub(error)}")

    # --- state ----------------------------------------------------------------------------

    def state(self) -> PostgresState:
        names = {
            f"{schema}{suffix}": role for role, suffix in ROLES.items() for schema in self.schemas
        }
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(
                "select nspname, obj_description(oid, 'pg_namespace') from pg_namespace "
                f"where nspname in ({', '.join(map(literal, names))})"
            )
            found = dict(cursor.fetchall())
        generations: dict[str, set[str | None]] = {role: set() for role in ROLES}
        for name, role in names.items():
            marker = MARKER.search(found.get(name) or "")
            generations[role].add(marker.group(1) if marker else None)
            if role == "live" and name in found and not marker:
                raise PostgresError(
                    f"schema {name} exists in PostgreSQL but was not created by Journey "
                    "Warehouse; drop or rename it, or point JOURNEY_POSTGRES_URL at another database"
                )
        return PostgresState(
            **{role: ids.pop() if len(ids) == 1 else None for role, ids in generations.items()},
            present=frozenset(found),
        )

    # --- load -------------------------------------------------------------------------------

    def stage(self, generation: Any) -> bool:
        """Load a generation (`.id`, `.published_file`, `.keys`) into `<schema>__next` unless
        some role already holds it; True if it loaded."""
        state = self.state()
        if generation.id in (state.live, state.previous, state.next):
            return False
        self.load(generation.id, generation.published_file, generation.keys)
        return True

    def load(
        self, generation_id: str, published_file: Path, keys: dict[str, list[str]]
    ) -> dict[str, int]:
        """Copy every table of a published DuckDB file into `<schema>__next`, with the primary
        keys `keys` (`schema.table` -> columns); rows per table."""
        spec = SurfaceSpec(
            {tuple(name.split(".", 1)): TableSpec(tuple(columns)) for name, columns in keys.items()}
        )
        source = duckdb.connect(str(published_file), read_only=True)
        try:
            tables = describe_tables(
                source, source.execute("select current_database()").fetchone()[0], spec
            )
            for table in tables:
                for column in table.columns:
                    try:
                        postgres_type(column.data_type)
                    except PostgresError as error:
                        raise PostgresError(
                            f"{table.schema}.{table.name}.{column.name}: {error}"
                        ) from None
            with self.connect() as connection:
                try:
                    rows = self._load(connection, source, tables, generation_id)
                    connection.commit()
                except PostgresError:
                    connection.rollback()
                    raise
                except Exception as error:
                    connection.rollback()
                    raise self._fail(f"load of generation {generation_id}", error) from None
        finally:
            source.close()
        return rows

    def _load(
        self, connection, source, tables: list[PublishedTable], generation_id: str
    ) -> dict[str, int]:
        rows: dict[str, int] = {}
        with connection.cursor() as cursor:
            for schema in self.schemas:
                cursor.execute(f"drop schema if exists {quote(schema + NEXT)} cascade")
                cursor.execute(f"create schema {quote(schema + NEXT)}")
            for table in tables:
                target = table.schema + NEXT
                try:
                    cursor.execute(create_table_sql(target, table))
                    reader = source.execute(load_select(table)).to_arrow_reader(BATCH_ROWS)
                    rows[f"{table.schema}.{table.name}"] = cursor.adbc_ingest(
                        table.name, reader, mode="append", db_schema_name=target
                    )
                    self._finish_table(cursor, target, table)
                except Exception as error:  # the driver's error types; name the table
                    raise self._fail(
                        f"load of generation {generation_id} ({table.schema}.{table.name})", error
                    ) from None
                fault_point("postgres:table-loaded")
            for schema in self.schemas:
                self._copy_grants(cursor, schema, schema + NEXT)
                comment = f"Journey Warehouse analyst schema {schema}, generation {generation_id}"
                cursor.execute(f"comment on schema {quote(schema + NEXT)} is {literal(comment)}")
        return rows

    def _finish_table(self, cursor, schema: str, table: PublishedTable) -> None:
        qualified = f"{quote(schema)}.{quote(table.name)}"
        if table.spec.primary_key:
            cursor.execute(
                f"alter table {qualified} add primary key ({', '.join(map(quote, table.spec.primary_key))})"
            )
        for column in index_columns(table):
            name = f"{table.name}__{column}"[:59] + "_idx"
            cursor.execute(f"create index {quote(name)} on {qualified} ({quote(column)})")
        for statement in comment_statements(qualified, table):
            cursor.execute(statement)
        cursor.execute(f"analyze {qualified}")

    def _copy_grants(self, cursor, live: str, target: str) -> None:
        """Roles that may read the live schema may read its replacement (a renamed schema keeps
        its grants, so without this the readers would lose access at the swap)."""
        cursor.execute(
            "select distinct r.rolname from pg_namespace n, aclexplode(n.nspacl) a "
            "join pg_roles r on r.oid = a.grantee "
            f"where n.nspname = {literal(live)} and a.privilege_type = 'USAGE' "
            "and a.grantee <> n.nspowner"
        )
        for (role,) in cursor.fetchall():
            cursor.execute(f"grant usage on schema {quote(target)} to {quote(role)}")
            cursor.execute(f"grant select on all tables in schema {quote(target)} to {quote(role)}")

    # --- swap -------------------------------------------------------------------------------

    def reconcile(self, current: str, previous: str | None, generation_of: Any) -> PostgresState:
        """Make the live schemas hold `current` and `__previous` hold `previous` (or nothing).

        `generation_of(generation_id)` gives the generation to load when no schema holds
        `current` yet. Every change of what is live happens in one transaction."""
        state = self.state()
        if self.stage(generation_of(current)):
            state = self.state()
        present = set(state.present)
        statements = [f"set local lock_timeout = {literal(LOCK_TIMEOUT)}"]
        holder = {state.live: "live", state.previous: "previous", state.next: "next"}.get(current)
        if holder == "next":
            moves = [(PREVIOUS, None), ("", PREVIOUS), (NEXT, "")]
            after_previous = state.live
        elif holder == "previous":
            moves = [("", SWAP), (PREVIOUS, ""), (SWAP, PREVIOUS)]
            after_previous = state.live
        else:
            moves, after_previous = [], state.previous
        if after_previous != previous:
            moves.append((PREVIOUS, None))
        statements += self._renames(moves, present)
        if len(statements) == 1:
            return state
        with self.connect() as connection:
            try:
                with connection.cursor() as cursor:
                    for statement in statements:
                        cursor.execute(statement)
                connection.commit()
            except Exception as error:
                connection.rollback()
                raise self._fail(f"swap to generation {current}", error) from None
        return self.state()

    def _renames(self, moves: list[tuple[str, str | None]], present: set[str]) -> list[str]:
        """SQL moving every analyst schema from suffix `a` to suffix `b` (None: drop), for the
        schemas that exist at that point of the transaction (`present` is updated)."""
        statements = []
        for source, target in moves:
            for schema in self.schemas:
                if schema + source not in present:
                    continue
                present.discard(schema + source)
                if target is None:
                    statements.append(f"drop schema {quote(schema + source)} cascade")
                else:
                    present.add(schema + target)
                    statements.append(
                        f"alter schema {quote(schema + source)} rename to {quote(schema + target)}"
                    )
        return statements
