"""The benchmark's engines on a tiny input: the two baselines agree, the stitcher writes tables,
the I/O floor rewrites them."""

from __future__ import annotations

import json
import os

import polars as pl
import pytest

from bench.identity_bench import (
    FLOOR_TABLES,
    _generate,
    _night_split,
    main,
    run_duckdb,
    run_io_floor,
    run_networkx,
    run_stitch,
)


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


def test_io_floor_reads_the_evidence_and_writes_the_same_tables(tmp_path):
    evidence, tables = tmp_path / "evidence", tmp_path / "tables"
    shape = _generate(2_000, evidence)
    with pytest.raises(FileNotFoundError, match="run the stitch engine at this size first"):
        run_io_floor(evidence, tables)
    stitched = run_stitch(evidence, tables)
    before = {name: pl.read_parquet(tables / f"{name}.parquet") for name in FLOOR_TABLES}
    floor = run_io_floor(evidence, tables)
    assert floor["persons"] == stitched["persons"]
    assert floor["steps"]["evidence_rows"] == shape["rows"]
    # the CPU of the timed part (0 when it is below the kernel's accounting tick): at most what
    # the machine's cores give in its wall time
    assert 0 <= floor["cpu_seconds"] <= floor["seconds"] * (os.cpu_count() or 1) + 0.2
    assert (
        floor["seconds"] >= floor["steps"]["read_evidence"] + floor["steps"]["write_tables"] - 0.02
    )
    # its copies were written beside the tables and removed; the stitcher's tables are untouched
    assert sorted(path.name for path in tables.iterdir()) == sorted(
        path.name for path in tables.glob("identity_*.parquet")
    )
    for name, frame in before.items():
        assert pl.read_parquet(tables / f"{name}.parquet").equals(frame)


def test_bench_command_runs_each_engine_in_a_child(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("bench.identity_bench.RESULTS", tmp_path)
    engines = "stitch,io_floor,duckdb_sql"
    assert main(["--sizes", "1500", "--engines", engines, "--cap-seconds", "120"]) == 0
    out = capsys.readouterr().out
    assert "stitch:" in out and "io_floor:" in out and "duckdb_sql:" in out and "peak" in out
    assert "reading and writing alone allow at most" in out
    assert "the graph step alone (stitch: account limit + components" in out
    rows = {
        row["engine"]: row for row in json.loads((tmp_path / "report.json").read_text())["summary"]
    }
    assert rows["io_floor"]["ok"] == 1 and "stitch_speedup" not in rows["io_floor"]
    baseline = rows["duckdb_sql"]
    assert baseline["stitch_graph_speedup"] == round(
        baseline["graph_seconds"] / rows["stitch"]["graph_seconds"], 1
    )
    assert baseline["io_floor_speedup_at_most"] == round(
        baseline["seconds"]["median"] / rows["io_floor"]["seconds"]["median"], 1
    )


def test_the_nightly_engine_restitches_a_part_and_is_compared(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("bench.identity_bench.RESULTS", tmp_path)
    engines = "stitch,nightly,duckdb_sql"
    assert main(["--sizes", "4000", "--engines", engines, "--cap-seconds", "300"]) == 0
    out = capsys.readouterr().out
    assert "nightly:" in out and "a night (the latest records against the state) is" in out
    report = json.loads((tmp_path / "report.json").read_text())
    (night,) = [run for run in report["runs"] if run["engine"] == "nightly"]
    (full,) = [run for run in report["runs"] if run["engine"] == "stitch"]
    assert night["mode"] == "incremental" and night["restitched_records"] > 0
    # the night's tables are the full stitch's persons (same evidence, same rules)
    assert night["persons"] == full["persons"]
    rows = {row["engine"]: row for row in report["summary"]}
    assert rows["duckdb_sql"]["nightly_speedup"] == round(
        rows["duckdb_sql"]["seconds"]["median"] / rows["nightly"]["seconds"]["median"], 1
    )


def test_the_night_is_the_latest_share_of_whole_records():
    from devkit.identity.synthetic import generate_evidence

    evidence, _ = generate_evidence(500, seed=3)
    key = ["source", "stream", "record_id"]
    history = _night_split(evidence.lazy(), 0.1).collect()
    last_seen = evidence.group_by(key).agg(pl.col("observed_at").max().alias("last_seen"))
    night = last_seen.join(history.select(key).unique(), on=key, how="anti")
    # about a tenth of the records, each later than every record of the history
    assert 0.09 <= night.height / last_seen.height <= 0.11
    kept = last_seen.join(history.select(key).unique(), on=key, how="semi")
    assert night["last_seen"].min() > kept["last_seen"].max()
    # whole records: the history holds every row of its records, none of the night's
    assert history.height == evidence.join(night, on=key, how="anti").height
