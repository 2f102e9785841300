"""The analyst surface: only the analyst schemas, as tables with keys and comments; exports
with the same types (documented exceptions) and month partitions; grains from the manifest."""

from __future__ import annotations

import shutil

import duckdb
import polars as pl
import pytest

from pipelines.warehouse.dbt_runner import ensure_manifest
from pipelines.warehouse.generations import load_generation, read_pointer
from pipelines.warehouse.publish import publish
from pipelines.warehouse.surface import (
    PARQUET_CASTS,
    PUBLISHED_SCHEMAS,
    SurfaceError,
    SurfaceSpec,
    TableSpec,
    build_published_file,
)
from tests.warehouse.builds import SPEC, build, settings_for


def _catalog(path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            "tables": con.execute(
                "select schema_name, table_name, comment from duckdb_tables() order by 1, 2"
            ).fetchall(),
            "views": con.execute(
                "select view_name from duckdb_views() where not internal"
            ).fetchall(),
            "columns": con.execute(
                "select table_name, column_name, data_type, comment from duckdb_columns() "
                "where table_name = 'fct_orders' order by column_index"
            ).fetchall(),
            "storage": con.execute(
                "select tags from duckdb_databases() where database_name = current_database()"
            ).fetchone()[0],
            "keys": con.execute(
                "select table_name, constraint_column_names from duckdb_constraints() "
                "where constraint_type = 'PRIMARY KEY' order by 1"
            ).fetchall(),
        }
    finally:
        con.close()


def test_the_published_file_holds_the_analyst_schemas_as_tables_only(tmp_path):
    settings = settings_for(tmp_path)
    build(settings, "run-1", [1, 2, 3])
    publish(settings, run_id="run-1", spec=SPEC)
    catalog = _catalog(settings.warehouse_path)
    assert catalog["tables"] == [
        ("identity", "identity_map", "Key: identifier_kind, identifier_value."),
        ("marts", "dim_persons", "Key: person_id."),  # a view in the build, a table here
        ("marts", "fct_orders", "One row per order. Key: order_id."),
    ]
    assert catalog["views"] == []  # no test_failures, nothing bound to the file's name
    assert catalog["columns"] == [
        ("fct_orders", "order_id", "VARCHAR", "The order's id."),
        ("fct_orders", "person_id", "VARCHAR", None),
        ("fct_orders", "total_price", "DECIMAL(38,2)", None),
        ("fct_orders", "created_at", "TIMESTAMP WITH TIME ZONE", None),  # UTC, an instant
        ("fct_orders", "line_items", "HUGEINT", None),
        ("fct_orders", "is_repeat", "BOOLEAN", None),
    ]
    assert catalog["storage"] == {"storage_version": "v1.0.0+"}  # README: DuckDB 1.0 or newer
    assert catalog["keys"] == []  # grains travel with the generation (PostgreSQL's keys)
    generation = load_generation(settings, read_pointer(settings).current)
    assert generation.keys == {
        "identity.identity_map": ["identifier_kind", "identifier_value"],
        "marts.dim_persons": ["person_id"],
        "marts.fct_orders": ["order_id"],
    }
    # the same file under another name opens and reads (a view would have bound to "journey")
    copy = tmp_path / "copied under another name.duckdb"
    shutil.copyfile(settings.warehouse_path, copy)
    con = duckdb.connect(str(copy), read_only=True)
    assert con.execute("select sum(orders) from marts.dim_persons").fetchone() == (3,)
    con.close()


def test_exports_have_the_published_types_rows_and_month_partitions(tmp_path):
    settings = settings_for(tmp_path)
    build(settings, "run-1", [1, 2, 3])
    publish(settings, run_id="run-1", spec=SPEC)
    current = settings.export_dir / "current"
    months = sorted(p.name for p in (current / "fct_orders").iterdir())
    assert months == [
        "partition_month=2026-01",
        "partition_month=2026-02",
        "partition_month=2026-03",
    ]
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        exported = f"read_parquet('{current}/fct_orders/*/*.parquet', hive_partitioning = true)"
        published_types = con.execute("describe marts.fct_orders").fetchall()
        exported_types = con.execute(f"describe select * from {exported}").fetchall()
        expected = [
            (name, PARQUET_CASTS.get(data_type, data_type))
            for name, data_type, *_ in published_types
        ] + [("partition_month", "VARCHAR")]
        assert [(name, data_type) for name, data_type, *_ in exported_types] == expected
        differences = con.execute(
            f"""
            select count(*) from (
                (select * from marts.fct_orders
                 except all select * exclude (partition_month) from {exported})
                union all
                (select * exclude (partition_month) from {exported}
                 except all select * from marts.fct_orders)
            )
            """
        ).fetchone()[0]
        assert differences == 0
        plain = pl.read_parquet(current / "identity_map.parquet")
        assert plain.sort("identifier_value")["person_id"].to_list() == ["p_1", "p_0"]
    finally:
        con.close()


def test_a_grain_naming_a_missing_column_fails_the_publish_by_name(tmp_path):
    settings = settings_for(tmp_path)
    build(settings, "run-1", [1, 3])
    spec = SurfaceSpec({("marts", "fct_orders"): TableSpec(("no_such_column",))})
    with pytest.raises(SurfaceError, match="names columns"):
        build_published_file(settings.build_warehouse_path, tmp_path / "out.duckdb", spec)


# Every published table has a grain (identity_rejected_edges too, since two raw spellings of one
# blocked value in a record publish as one rejected edge).
WITHOUT_GRAIN: set[str] = set()


def test_every_published_model_declares_a_tested_grain_and_documents_every_column():
    """The dbt project as the manifest sees it: each model of an analyst schema has a grain
    guaranteed by blocking tests (its primary key in the file and in PostgreSQL), its month
    partition names one of its columns, and every declared column has a description."""
    import json

    manifest_path = ensure_manifest()
    spec = SurfaceSpec.from_manifest(manifest_path)
    manifest = json.loads(manifest_path.read_text())
    models = {
        (node["schema"], node["name"]): node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] in PUBLISHED_SCHEMAS
    }
    assert set(models) == set(spec.tables) and len(models) >= 24
    without_grain = sorted(
        f"{s}.{t}" for (s, t), table in spec.tables.items() if not table.primary_key
    )
    assert without_grain == sorted(WITHOUT_GRAIN)
    for key, table in spec.tables.items():
        columns = models[key]["columns"]
        assert set(table.primary_key) <= set(columns), key
        assert table.partition_month is None or table.partition_month in columns, key
        assert models[key]["description"].strip(), key
        assert [c for c, v in columns.items() if not v.get("description", "").strip()] == [], key
    partitioned = sorted(t for (_, t), table in spec.tables.items() if table.partition_month)
    assert partitioned == [
        "fct_attribution",
        "fct_email_engagement",
        "fct_journey_phases",
        "fct_sessions",
        "fct_touchpoints",
    ]
