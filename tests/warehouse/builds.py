"""Small, real builds for the publish layer: a DuckDB build file with an internal layer, a
`test_failures` view, a mart view, comments and an identity map, published by the real code.

No pytest here: the crash-safety test's subprocesses import it."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.settings import Settings
from pipelines.warehouse.build import prepare_build
from pipelines.warehouse.surface import SurfaceSpec, TableSpec

SPEC = SurfaceSpec(
    {
        ("marts", "fct_orders"): TableSpec(("order_id",), partition_month="created_at"),
        ("marts", "dim_persons"): TableSpec(("person_id",)),
        ("identity", "identity_map"): TableSpec(("identifier_kind", "identifier_value")),
    }
)


def settings_for(root: Path, **variables: str) -> Settings:
    return Settings.from_env(
        {
            "JOURNEY_DATA_DIR": str(root / "data"),
            "JOURNEY_WAREHOUSE_PATH": str(root / "warehouse" / "journey.duckdb"),
            **variables,
        }
    )


def build(settings: Settings, run_id: str, orders: list[int], *, full_refresh=False) -> Path:
    """What a night's dbt build leaves: marts (one of them a view), identity, an internal
    layer holding a raw email, a dbt test-failure view, and persisted descriptions."""
    path = prepare_build(settings, run_id=run_id, full_refresh=full_refresh)
    con = duckdb.connect(str(path))
    try:
        for schema in ("marts", "identity", "intermediate", "test_failures"):
            con.execute(f"create schema if not exists {schema}")
        con.execute(
            """
            create or replace table marts.fct_orders as
            select
                cast(order_id as varchar) as order_id,
                'p_' || (order_id % 2) as person_id,
                cast(order_id * 10.5 as decimal(38, 2)) as total_price,
                timestamp '2026-01-15 10:00:00' + to_months(cast(order_id as integer) - 1) as created_at,
                cast(order_id as hugeint) as line_items,
                order_id % 2 = 0 as is_repeat
            from unnest(?::bigint[]) as t(order_id)
            """,
            [orders],
        )
        con.execute("comment on table marts.fct_orders is 'One row per order.'")
        con.execute("comment on column marts.fct_orders.order_id is 'The order''s id.'")
        con.execute(
            "create or replace view marts.dim_persons as "
            "select person_id, count(*) as orders from marts.fct_orders group by person_id"
        )
        con.execute(
            "create or replace table identity.identity_map as select * from (values "
            "('email', 'anna@example.com', 'p_1'), ('email', 'ben@example.com', 'p_0')) "
            "as t(identifier_kind, identifier_value, person_id)"
        )
        con.execute(
            "create or replace table intermediate.scratch as select 'Anna@Example.com' as raw_email"
        )
        con.execute(
            "create or replace view test_failures.unique_fct_orders_order_id as "
            "select order_id from marts.fct_orders where false"
        )
        # what incremental models carry from night to night: one row per build
        con.execute("create table if not exists intermediate.nights (run_id varchar)")
        con.execute("insert into intermediate.nights values (?)", [run_id])
    finally:
        con.close()
    return path


def orders(path: Path) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [
            row[0]
            for row in con.execute("select order_id from marts.fct_orders order by 1").fetchall()
        ]
    finally:
        con.close()
