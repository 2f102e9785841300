"""The benchmark's baselines: the SQL stitcher normalises like the stitcher, the engines agree,
and the summary's speed-ups."""

from __future__ import annotations

import polars as pl

from bench.identity_bench import _generate, normalise_sql, run_duckdb, run_duckdb_int, summarise
from pipelines.identity.normalise import normalise_identifiers


def test_sql_baseline_normalises_like_the_stitcher(tmp_path, rules):
    import duckdb

    values = pl.DataFrame(
        {
            "identifier_kind": ["email", "email", "email", "email", "phone", "web_visitor_id"],
            "identifier_value": [
                " Ann.Lee+News@GoogleMail.com ",
                "bob+x@Web.de",
                "a@b@c",
                "no-at-sign",
                "+49 (151) 123-4567",
                " V0001 ",
            ],
        }
    )
    sql = duckdb.sql(f"select {normalise_sql(rules)} as v from values").pl()["v"]
    assert sql.to_list() == normalise_identifiers(values, rules)["identifier_value"].to_list()
    evidence = tmp_path / "evidence"
    _generate(2_000, evidence)
    assert run_duckdb_int(evidence)["persons"] == run_duckdb(evidence)["persons"]


def test_summary_gives_speedups_and_lower_bounds_only_for_time_caps():
    runs = [
        {"size": 5, "engine": "stitch", "status": "ok", "seconds": 2.0, "peak_mb": 10.0,
         "cpu_seconds": 3.0, "persons": 7, "steps": {"account_limit_and_components": 0.2}},
        {"size": 5, "engine": "stitch", "status": "ok", "seconds": 4.0, "peak_mb": 12.0,
         "cpu_seconds": 5.0, "persons": 7, "steps": {"account_limit_and_components": 0.3}},
        {"size": 5, "engine": "duckdb_sql", "status": "ok", "seconds": 30.0, "peak_mb": 50.0,
         "cpu_seconds": 40.0, "persons": 9, "steps": {"propagate": 25.0}},
        {"size": 5, "engine": "networkx", "status": "stopped at 900 s (time cap)",
         "stopped_after": 900.0},
        {"size": 5, "engine": "duckdb_sql_int", "status": "stopped at 16001 MB (memory cap)"},
    ]  # fmt: skip
    rows = {row["engine"]: row for row in summarise(runs)}
    assert rows["stitch"]["seconds"] == {"min": 2.0, "median": 3.0, "max": 4.0}
    assert rows["duckdb_sql"]["stitch_speedup"] == 10.0
    # the graph steps compared alone: medians 0.25 s and 25 s
    assert rows["stitch"]["graph_seconds"] == 0.25
    assert rows["duckdb_sql"]["stitch_graph_speedup"] == 100.0
    assert "stitch_graph_speedup" not in rows["networkx"]
    assert rows["networkx"]["stitch_speedup_at_least"] == 300.0
    assert "stitch_speedup_at_least" not in rows["duckdb_sql_int"]
