"""The analyst surface: what a published generation holds, built as a new file from the build.

The published file holds the analyst schemas only (`PUBLISHED_SCHEMAS`: docs/contracts.md §7),
every relation as a **table** (a view binds to the file name it was created under, so a copy of
the file under another name could not read it), with every table and column comment the build
carries (dbt `persist_docs`); a table comment ends with the table's grain (`Key: order_id.`).
The grain is recorded with the generation and becomes the primary key in PostgreSQL; the DuckDB
file carries no key constraints (a DuckDB primary key is
an index: at 100k persons it made the file 2.7 times larger and its writing 7 times slower). Internal layers
(staging, intermediate, seeds) and dbt's `test_failures` stay in the private build file.
Because the file is written fresh, no byte of an internal layer ever reaches it.

What each table's grain is and which facts are exported partitioned by month come from the dbt
manifest (`SurfaceSpec.from_manifest`): the grain is the key a blocking dbt test already
guarantees (dbt's own `primary_key` — a `unique` and `not_null` column — or else the model's
`unique_combination` test, every column of it tested `not_null` or listed in the model's
`not_null_columns`); the month partition is the
model's `config.meta.export_partition_month`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from pipelines.errors import JourneyError
from pipelines.settings import DuckdbLimits
from pipelines.warehouse.durable import fsync_file

PUBLISHED_SCHEMAS = ("marts", "identity")
PARTITION_COLUMN = "partition_month"
PARTITION_META = "export_partition_month"
# Parquet has no 128-bit integer: DuckDB would write HUGEINT as DOUBLE (inexact above 2^53).
# Exports carry it as DECIMAL(38,0), exactly, like Arrow and PostgreSQL (numeric(38,0)).
PARQUET_CASTS = {"HUGEINT": "DECIMAL(38,0)", "UHUGEINT": "DECIMAL(38,0)"}
# The build's timestamps are naive, meaning UTC (docs/contracts.md); BI tools read a naive
# timestamp in the viewer's zone, so the published surface types them as instants: TIMESTAMP
# WITH TIME ZONE, the same instant (DECISIONS.md, "BI-friendly types").
INSTANT_TYPES = {"TIMESTAMP": "TIMESTAMP WITH TIME ZONE"}
# The published file is written in DuckDB's v1.0 storage format, pinned rather than left to the
# running DuckDB's default, so BI tools embedding DuckDB 1.0 or newer open it (README).
STORAGE_COMPATIBILITY = "v1.0.0"


class SurfaceError(JourneyError):
    """The build cannot be turned into the published surface (the message says why)."""


@dataclass(frozen=True)
class TableSpec:
    """What the publish layer needs to know about one published table."""

    primary_key: tuple[str, ...] = ()
    partition_month: str | None = None  # export partitioned by the month of this column


@dataclass(frozen=True)
class SurfaceSpec:
    tables: dict[tuple[str, str], TableSpec] = field(default_factory=dict)

    def table(self, schema: str, name: str) -> TableSpec:
        return self.tables.get((schema, name), TableSpec())

    @classmethod
    def from_manifest(cls, manifest_path: Path) -> SurfaceSpec:
        manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
        nodes = manifest["nodes"]
        not_null: dict[str, set[str]] = {}
        combinations: dict[str, list[tuple[str, ...]]] = {}
        for node in nodes.values():
            test = node.get("test_metadata") or {}
            if node["resource_type"] != "test" or not node.get("attached_node"):
                continue
            if test.get("name") == "not_null":
                not_null.setdefault(node["attached_node"], set()).add(node["column_name"])
            elif test.get("name") == "not_null_columns":  # one test per model, its columns listed
                not_null.setdefault(node["attached_node"], set()).update(test["kwargs"]["columns"])
            elif test.get("name") == "unique_combination":
                combinations.setdefault(node["attached_node"], []).append(
                    tuple(test["kwargs"]["columns"])
                )
        tables = {}
        for unique_id, node in sorted(nodes.items()):
            if node["resource_type"] != "model" or node["schema"] not in PUBLISHED_SCHEMAS:
                continue
            tested = not_null.get(unique_id, set())
            grain = tuple(node.get("primary_key") or ())
            if not grain:
                grain = next((c for c in combinations.get(unique_id, []) if set(c) <= tested), ())
            meta = node.get("config", {}).get("meta") or {}
            tables[(node["schema"], node["alias"] or node["name"])] = TableSpec(
                primary_key=grain, partition_month=meta.get(PARTITION_META)
            )
        return cls(tables)


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    comment: str | None


@dataclass(frozen=True)
class PublishedTable:
    schema: str
    name: str
    comment: str | None
    columns: tuple[Column, ...]
    spec: TableSpec

    @property
    def qualified(self) -> str:
        return f"{quote(self.schema)}.{quote(self.name)}"


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def describe_tables(
    con: duckdb.DuckDBPyConnection, database: str, spec: SurfaceSpec
) -> list[PublishedTable]:
    """Every relation (table or view) of the analyst schemas of `database`, in a stable order."""
    schemas = list(PUBLISHED_SCHEMAS)
    relations = con.execute(
        """
        select schema_name, table_name, comment from duckdb_tables()
        where database_name = $database and schema_name in (select unnest($schemas))
        union all
        select schema_name, view_name, comment from duckdb_views()
        where database_name = $database and schema_name in (select unnest($schemas))
          and not internal
        order by 1, 2
        """,
        {"database": database, "schemas": schemas},
    ).fetchall()
    columns: dict[tuple[str, str], list[Column]] = {}
    for schema, table, name, data_type, comment in con.execute(
        """
        select schema_name, table_name, column_name, data_type, comment from duckdb_columns()
        where database_name = $database and schema_name in (select unnest($schemas))
        order by schema_name, table_name, column_index
        """,
        {"database": database, "schemas": schemas},
    ).fetchall():
        columns.setdefault((schema, table), []).append(Column(name, data_type, comment or None))
    return [
        PublishedTable(
            schema,
            table,
            comment or None,
            tuple(columns[(schema, table)]),
            spec.table(schema, table),
        )
        for schema, table, comment in relations
    ]


def build_published_file(
    build: Path, target: Path, spec: SurfaceSpec, limits: DuckdbLimits | None = None
) -> dict[str, int]:
    """Write the analyst surface of `build` into the new file `target`; rows per table.

    Tables are created with their exact column types (naive UTC timestamps as TIMESTAMP WITH
    TIME ZONE: `INSTANT_TYPES`), filled from the build, and given the build's table and column
    comments. `limits`: the run's DuckDB memory ceiling and spill folder."""
    target.unlink(missing_ok=True)
    con = duckdb.connect(
        str(target), config={"storage_compatibility_version": STORAGE_COMPATIBILITY}
    )
    try:
        if limits:
            limits.apply(con)
        con.execute(f"attach {literal(str(build))} as build (read_only)")
        tables = describe_tables(con, "build", spec)
        if not tables:
            raise SurfaceError(
                f"{build} holds no tables in schemas {', '.join(PUBLISHED_SCHEMAS)}: the dbt "
                "build wrote nothing to publish"
            )
        counts: dict[str, int] = {}
        for schema in sorted({table.schema for table in tables}):
            con.execute(f"create schema {quote(schema)}")
        for table in tables:
            counts[f"{table.schema}.{table.name}"] = _copy_table(con, table)
        con.execute("detach build")
        con.execute("checkpoint")
    finally:
        con.close()
    fsync_file(target)
    return counts


def _copy_table(con: duckdb.DuckDBPyConnection, table: PublishedTable) -> int:
    names = {column.name for column in table.columns}
    missing = [column for column in table.spec.primary_key if column not in names]
    if missing:
        raise SurfaceError(
            f"{table.schema}.{table.name}: its grain names columns {missing} that the table "
            "lacks; fix the model's unique / unique_combination test in its yml"
        )
    columns = tuple(
        replace(c, data_type=INSTANT_TYPES.get(c.data_type, c.data_type)) for c in table.columns
    )
    definitions = [f"{quote(c.name)} {c.data_type}" for c in columns]
    values = [
        f"timezone('UTC', {quote(c.name)})" if c.data_type in INSTANT_TYPES else quote(c.name)
        for c in table.columns
    ]
    con.execute(f"create table {table.qualified} ({', '.join(definitions)})")
    con.execute(
        f"insert into {table.qualified} select {', '.join(values)} from build.{table.qualified}"
    )
    table = replace(table, columns=columns)
    if table.spec.primary_key:  # BI tools read the key from the comment (no constraint here)
        key = f"Key: {', '.join(table.spec.primary_key)}."
        table = replace(table, comment=f"{table.comment} {key}" if table.comment else key)
    for statement in comment_statements(table.qualified, table):
        con.execute(statement)
    return con.execute(f"select count(*) from {table.qualified}").fetchone()[0]


def grains(spec: SurfaceSpec, tables: dict[str, int]) -> dict[str, list[str]]:
    """The grain (primary-key columns) of each published `schema.table` that has one."""
    found = {name: spec.table(*name.split(".", 1)).primary_key for name in tables}
    return {name: list(columns) for name, columns in found.items() if columns}


def comment_statements(qualified: str, table: PublishedTable) -> list[str]:
    """`comment on` statements giving `qualified` the table's and its columns' comments (the
    same SQL in DuckDB and PostgreSQL)."""
    statements = []
    if table.comment:
        statements.append(f"comment on table {qualified} is {literal(table.comment)}")
    statements += [
        f"comment on column {qualified}.{quote(c.name)} is {literal(c.comment)}"
        for c in table.columns
        if c.comment
    ]
    return statements


def export_select(table: PublishedTable) -> str:
    """The query a table is exported with: exact Parquet types, plus the month partition key."""
    columns = [
        f"cast({quote(c.name)} as {PARQUET_CASTS[c.data_type]}) as {quote(c.name)}"
        if c.data_type in PARQUET_CASTS
        else quote(c.name)
        for c in table.columns
    ]
    if table.spec.partition_month:
        columns.append(
            f"strftime({quote(table.spec.partition_month)}, '%Y-%m') as {PARTITION_COLUMN}"
        )
    return f"select {', '.join(columns)} from {table.qualified}"


def export_tables(published: Path, out_dir: Path, spec: SurfaceSpec) -> dict[str, str]:
    """Write every published table as Parquet under `out_dir`; the path of each, relative.

    `<table>.parquet`, or for a table with a month partition `<table>/partition_month=YYYY-MM/
    data_0.parquet` (hive folders; rows without a month under `__HIVE_DEFAULT_PARTITION__`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(published), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        tables = describe_tables(con, _database_name(con), spec)
        paths: dict[str, str] = {}
        for table in tables:
            if table.name in paths:
                raise SurfaceError(
                    f"two published tables are named {table.name}: exports are one folder, "
                    "rename one of the models"
                )
            if table.spec.partition_month:
                if table.spec.partition_month not in {c.name for c in table.columns}:
                    raise SurfaceError(
                        f"{table.schema}.{table.name}: {PARTITION_META} names "
                        f"{table.spec.partition_month}, which the table lacks"
                    )
                paths[table.name] = table.name
                options = f"format parquet, partition_by ({PARTITION_COLUMN})"
            else:
                paths[table.name] = f"{table.name}.parquet"
                options = "format parquet"
            target = out_dir / paths[table.name]
            con.execute(f"copy ({export_select(table)}) to {literal(str(target))} ({options})")
    finally:
        con.close()
    return paths


def _database_name(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("select current_database()").fetchone()[0]
