"""No model is planned with a nested-loop join (issue 17): every compiled model's query plan, on
the built warehouse, joins by hash, merge or range (IEJoin, piecewise merge), never by comparing
every row with every row. An OR in a join condition (`exited_at is null or t < exited_at`) is
what makes DuckDB fall back to a blockwise nested loop; `open_end()` avoids it.

A nested loop is fine when one side stays small whatever the data volume; those models are
listed in ALLOWED with the reason, so a new one is a decision, not an accident.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from pipelines.quality.suites import WarehouseFrame, load_suites
from tests.dbt.conftest import BuiltWarehouse

QUADRATIC_JOINS = re.compile(r"BLOCKWISE_NL_JOIN|NESTED_LOOP_JOIN")
ALLOWED = {
    # distinct referring hosts x the seed's traffic sources (substring match of a domain)
    "int_web_visits_flagged": "distinct hosts x seed rows",
    "int_web_actions_unioned": "distinct hosts x seed rows (file-drop referrers)",
    # persons x the one-row `as_of` (the cross join's filter is pushed into the join)
    "fct_phase_dropoff": "one-row side",
    # cohort months x order months
    "kpi_retention_cohorts": "months x months",
}


def compiled_models(target: Path) -> dict[str, str]:
    """Model name → compiled SQL, from the dbt target folder of the warehouse's builds (data
    tests, compiled into a folder named after their yml file, left out)."""
    folder = target / "compiled" / "journey_warehouse" / "models"
    return {
        path.stem: path.read_text()
        for path in sorted(folder.rglob("*.sql"))
        if not any(part.endswith(".yml") for part in path.relative_to(folder).parts)
    }


def test_no_model_is_planned_with_a_nested_loop_join(vendor_built: BuiltWarehouse) -> None:
    models = compiled_models(vendor_built.warehouse.root / "dbt_target")
    assert len(models) > 50
    assert "fct_support_tickets" in models
    planned = {}
    with duckdb.connect(str(vendor_built.warehouse.database), read_only=True) as con:
        for name, sql in models.items():
            plan = "\n".join(row[1] for row in con.execute(f"explain {sql}").fetchall())
            planned[name] = sorted(set(QUADRATIC_JOINS.findall(plan)))
    nested = {name: joins for name, joins in planned.items() if joins}
    assert {name: joins for name, joins in nested.items() if name not in ALLOWED} == {}
    assert sorted(ALLOWED) == sorted(nested)  # an entry no longer needed is removed


def test_no_warehouse_suite_frame_is_planned_with_a_nested_loop_join(
    vendor_built: BuiltWarehouse,
) -> None:
    """The GX suites' warehouse queries run on every night's whole marts: a left join whose ON
    also tests a left-only column (`orders.source = 'shopify' and ...`) was planned as a
    blockwise nested loop — 4 s at 100k persons, 144 s at 1M."""
    frames = {
        suite.name: suite.frame.query
        for suite in load_suites()
        if isinstance(suite.frame, WarehouseFrame)
    }
    assert "fct_orders" in " ".join(frames)
    with duckdb.connect(str(vendor_built.warehouse.database), read_only=True) as con:
        planned = {
            name: sorted(
                set(
                    QUADRATIC_JOINS.findall(
                        "\n".join(row[1] for row in con.execute(f"explain {query}").fetchall())
                    )
                )
            )
            for name, query in frames.items()
        }
    assert {name: joins for name, joins in planned.items() if joins} == {}
