"""The benchmark's engines on a tiny input: the two baselines agree, the stitcher writes tables."""

from __future__ import annotations

from bench.identity_bench import _generate, main, run_duckdb, run_networkx, run_stitch


def test_baselines_agree_and_stitch_runs(tmp_path):
    evidence = tmp_path / "evidence"
    shape = _generate(2_000, evidence)
    assert shape["edges"] > 1_000 and shape["rows"] > shape["edges"]
    assert run_networkx(evidence)["persons"] == run_duckdb(evidence)["persons"]
    stitched = run_stitch(evidence, tmp_path / "tables")
    assert stitched["persons"] > 0 and "write" in stitched["steps"]
    assert (
        sorted(path.name for path in (tmp_path / "tables").glob("*.parquet"))[0]
        == "identity_edges.parquet"
    )


def test_bench_command_runs_each_engine_in_a_child(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("bench.identity_bench.RESULTS", tmp_path)
    assert main(["--sizes", "1500", "--engines", "stitch,duckdb_sql", "--cap-seconds", "120"]) == 0
    out = capsys.readouterr().out
    assert "stitch:" in out and "duckdb_sql:" in out and "peak" in out
    assert (tmp_path / "report.json").exists()
