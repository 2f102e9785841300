"""The failing rows of dbt tests kept as views (pipelines/warehouse/dbt_failures.py), from dbt's
artifacts as an invocation leaves them (run_results.json and manifest.json, trimmed to the
fields read). The whole path through dbt and the run report: tests/test_run_report_failures.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb

from pipelines.warehouse.dbt_failures import keep_failing_rows

NODES = {
    "test.journey_warehouse.not_null_orders_order_id.1a2b3c4d5e": "not_null_orders_order_id",
    "test.journey_warehouse.unique_orders_order_id.6f7a8b9c0d": "unique_orders_order_id",
    "model.journey_warehouse.orders": "orders",
}


def write_invocation(target: Path, statuses: dict[str, str]) -> None:
    """run_results.json of an invocation whose tests ended with `statuses` (test → status)."""
    target.mkdir(parents=True, exist_ok=True)
    compiled = {
        "not_null_orders_order_id": "select order_id from main.orders where order_id is null",
        "unique_orders_order_id": (
            "select order_id, count(*) as n_records from main.orders group by order_id "
            "having count(*) > 1"
        ),
    }
    by_name = {name: unique_id for unique_id, name in NODES.items()}
    results = [
        {"unique_id": "model.journey_warehouse.orders", "status": "success", "compiled_code": ""}
    ] + [
        {"unique_id": by_name[name], "status": status, "compiled_code": compiled[name]}
        for name, status in statuses.items()
    ]
    (target / "run_results.json").write_text(json.dumps({"results": results}))
    nodes = {unique_id: {"name": name} for unique_id, name in NODES.items()}
    (target / "manifest.json").write_text(json.dumps({"nodes": nodes}))


def views(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.sql(
            "select view_name from duckdb_views() where schema_name = 'test_failures'"
        ).fetchall()
        return {
            name: con.sql(f'select * from test_failures."{name}" order by all').fetchall()
            for (name,) in names
        }


def test_failed_and_warned_tests_get_a_view_and_a_test_passing_again_loses_it(tmp_path):
    warehouse, target = tmp_path / "journey.duckdb", tmp_path / "target"
    with duckdb.connect(str(warehouse)) as con:
        con.sql("create table orders as select * from (values (1), (2), (2), (null)) t(order_id)")
    write_invocation(target, {"not_null_orders_order_id": "fail", "unique_orders_order_id": "warn"})
    assert keep_failing_rows(warehouse, target) == [
        "not_null_orders_order_id",
        "unique_orders_order_id",
    ]
    assert views(warehouse) == {
        "not_null_orders_order_id": [(None,)],
        "unique_orders_order_id": [(2, 2)],
    }

    with duckdb.connect(str(warehouse)) as con:  # repaired, the next night
        con.sql("delete from orders where order_id is null")
    write_invocation(target, {"not_null_orders_order_id": "pass"})
    assert keep_failing_rows(warehouse, target) == []
    assert views(warehouse) == {"unique_orders_order_id": [(2, 2)]}  # not run: kept


def test_results_older_than_the_invocation_change_nothing(tmp_path):
    warehouse, target = tmp_path / "journey.duckdb", tmp_path / "target"
    with duckdb.connect(str(warehouse)) as con:
        con.sql("create table orders as select * from (values (null)) t(order_id)")
    write_invocation(target, {"not_null_orders_order_id": "fail"})
    written = (target / "run_results.json").stat().st_mtime
    os.utime(target / "run_results.json", (written - 60, written - 60))
    assert keep_failing_rows(warehouse, target, started=written) == []
    assert views(warehouse) == {}
