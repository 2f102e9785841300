"""The failing rows of dbt's failed and warned tests, kept as views (no Dagster here).

dbt's `store_failures_as: view` created (or replaced) a view for every one of ~550 tests each
night, passing or not: a DDL statement, a catalog write and a relation-cache update per test,
about 40 % of the tests' cost (bench/FIGURES.md, "dbt's fixed cost"). The run report only reads
the views of the tests that failed or warned. So dbt stores nothing, and after each dbt
invocation `keep_failing_rows` creates `test_failures."<test name>"` from the test's compiled
query (dbt's `run_results.json`: a data test's compiled SQL selects its failing rows) for those
tests only, and drops the view of a test that passes now. Views are named by the test's name
(the name of its Dagster asset check), not by dbt's alias, which dbt shortens to a hash for
long names.
"""

from __future__ import annotations

import json
from pathlib import Path

FAILURES_SCHEMA = "test_failures"
KEPT_STATUSES = {"fail", "warn"}


def keep_failing_rows(warehouse: Path, target: Path, *, started: float = 0.0) -> list[str]:
    """Create a view of the failing rows of every test that failed or warned in the dbt
    invocation whose artifacts are in `target`, drop those of its tests that passed; the names
    of the views created. An invocation without test results (dbt stopped early: no
    `run_results.json` written since `started`, a POSIX time) changes nothing."""
    results_file, manifest_file = target / "run_results.json", target / "manifest.json"
    if not results_file.exists() or not manifest_file.exists():
        return []
    if results_file.stat().st_mtime < started:  # an earlier invocation's results
        return []
    results = [
        result
        for result in json.loads(results_file.read_text())["results"]
        if result["unique_id"].startswith("test.")
    ]
    if not results:
        return []
    nodes = json.loads(manifest_file.read_text())["nodes"]
    failing = {
        nodes[result["unique_id"]]["name"]: result["compiled_code"]
        for result in results
        if result["status"] in KEPT_STATUSES and result.get("compiled_code")
    }
    passed = {nodes[result["unique_id"]]["name"] for result in results} - set(failing)

    import duckdb

    try:
        con = duckdb.connect(str(warehouse))
    except duckdb.Error:  # held by another process: the samples must not hide dbt's outcome
        return []
    with con:
        existing = {
            name
            for (name,) in con.execute(
                "select view_name from duckdb_views() where schema_name = ?", [FAILURES_SCHEMA]
            ).fetchall()
        }
        for name in sorted(passed & existing):
            con.execute(f"drop view {FAILURES_SCHEMA}.{_quoted(name)}")
        if failing:
            con.execute(f"create schema if not exists {FAILURES_SCHEMA}")
        kept = []
        for name, sql in sorted(failing.items()):
            try:
                con.execute(f"create or replace view {FAILURES_SCHEMA}.{_quoted(name)} as {sql}")
            except duckdb.Error:  # the report then shows the count without a sample
                continue
            kept.append(name)
    return kept


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
