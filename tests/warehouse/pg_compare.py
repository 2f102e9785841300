"""Compare PostgreSQL tables with the DuckDB tables they were copied from, row for row and
type for type (used by the unit tests and the end-to-end test)."""

from __future__ import annotations

import re

import adbc_driver_postgresql.dbapi as adbc
import duckdb

from pipelines.warehouse.surface import PUBLISHED_SCHEMAS, quote

# format_type() of the PostgreSQL column each DuckDB type must become (README "Connect your BI
# tool"): written out here, not derived from the code under test.
EXPECTED_POSTGRES_TYPES = {
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
    "DECIMAL(18,2)": "numeric(18,2)",
    "DECIMAL(38,2)": "numeric(38,2)",
    "VARCHAR": "text",
    "DATE": "date",
    "TIME": "time without time zone",
    "TIMESTAMP": "timestamp without time zone",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "BLOB": "bytea",
    "JSON": "json",
    "VARCHAR[]": "text[]",
    "BIGINT[]": "bigint[]",
    "DECIMAL(38,2)[]": "numeric(38,2)[]",
}


def expected_postgres_type(duckdb_type: str) -> str:
    """The table above, and DECIMAL(p,s) as numeric(p,s) at any precision and scale."""
    decimal = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)(\[\])?", duckdb_type)
    if decimal:
        return f"numeric({decimal.group(1)},{decimal.group(2)}){decimal.group(3) or ''}"
    return EXPECTED_POSTGRES_TYPES.get(duckdb_type, f"?{duckdb_type}")


def postgres_columns(url: str, schema: str, table: str) -> list[tuple[str, str]]:
    with adbc.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
            "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
            f"where n.nspname = '{schema}' and c.relname = '{table}' and a.attnum > 0 "
            "and not a.attisdropped order by a.attnum"
        )
        return cursor.fetchall()


def differences(
    url: str,
    duck: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    postgres_schema: str | None = None,
) -> dict:
    """Type mismatches and rows present on one side only, for one table (in PostgreSQL under
    `postgres_schema`, by default the same schema)."""
    postgres_schema = postgres_schema or schema
    columns = duck.execute(
        "select column_name, data_type from duckdb_columns() "
        "where schema_name = ? and table_name = ? order by column_index",
        [schema, table],
    ).fetchall()
    expected = [(name, expected_postgres_type(data_type)) for name, data_type in columns]
    actual = postgres_columns(url, postgres_schema, table)
    with adbc.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(f"select * from {quote(postgres_schema)}.{quote(table)}")
        from_postgres = cursor.fetch_arrow_table()  # numeric arrives as text: cast back below
    duck.register("from_postgres", from_postgres)
    typed = ", ".join(
        f"cast({quote(name)} as {data_type}) as {quote(name)}" for name, data_type in columns
    )
    source = f"{quote(schema)}.{quote(table)}"
    only_duckdb, only_postgres = duck.execute(
        f"""
        select
            (select count(*) from (select * from {source} except all select {typed} from from_postgres)),
            (select count(*) from (select {typed} from from_postgres except all select * from {source}))
        """
    ).fetchone()
    duck.unregister("from_postgres")
    return {
        "types": [(e, a) for e, a in zip(expected, actual, strict=False) if e != a]
        + ([("columns", len(expected), len(actual))] if len(expected) != len(actual) else []),
        "only_in_duckdb": only_duckdb,
        "only_in_postgres": only_postgres,
    }


def published_tables(duck: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return duck.execute(
        "select schema_name, table_name from duckdb_tables() "
        f"where schema_name in {tuple(PUBLISHED_SCHEMAS)} order by 1, 2"
    ).fetchall()
