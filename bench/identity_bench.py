"""Identity stitching benchmark: `python -m bench.identity_bench [--sizes 1000000,5000000,20000000]`.

For each size (edges = non-anchor evidence rows) it generates synthetic evidence with the
realistic shape (pipelines.identity.synthetic: many small clusters, some large ones, the traps),
writes it as Parquet, and measures on that same file, each in its own subprocess (wall time and
peak RSS from the child's own ru_maxrss):

* `stitch`: end to end — read, normalise, guard, limits, components, stable ids, write tables;
* `networkx`: read, normalise, anchor edges, `networkx.connected_components` (no guards);
* `duckdb_sql`: read, normalise, anchor edges, then label propagation in SQL (repeat
  `min(label)` over the edges until no label changes), the way warehouse-native stitchers work.

A baseline that exceeds `--cap-seconds` is stopped and reported as such; larger sizes are then
skipped for it. Output lands in bench/results/identity/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

RESULTS = Path(__file__).resolve().parent / "results" / "identity"
EDGES_PER_PERSON = 4.0  # what pipelines.identity.synthetic produces on average
CHUNK_PERSONS = 500_000


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _anchor_edges(evidence_path: Path) -> pl.DataFrame:
    """Normalised anchor -> other edges as integer node pairs (what the baselines cluster)."""
    from pipelines.identity.normalise import normalise_identifiers
    from pipelines.identity.rules import load_rules

    rules = load_rules()
    evidence = pl.read_parquet(evidence_path / "*.parquet")
    evidence = normalise_identifiers(evidence, rules)
    key = (pl.col("identifier_kind") + ":" + pl.col("identifier_value")).alias("key")
    rows = evidence.select("source", "stream", "record_id", "is_anchor", key)
    nodes = rows.select("key").unique().with_row_index("node")
    rows = rows.join(nodes, on="key").drop("key")
    anchors = rows.filter(pl.col("is_anchor")).select(
        "source", "stream", "record_id", pl.col("node").alias("a")
    )
    others = rows.filter(~pl.col("is_anchor")).select(
        "source", "stream", "record_id", pl.col("node").alias("b")
    )
    return others.join(anchors, on=["source", "stream", "record_id"]).select("a", "b"), nodes.height


def _split(started: float, prepared: float) -> dict:
    """Seconds spent preparing the edges (read, normalise, anchor join) and clustering them."""
    return {
        "prepare_edges": round(prepared - started, 2),
        "components": round(time.perf_counter() - prepared, 2),
    }


def run_stitch(evidence_path: Path, out_dir: Path) -> dict:
    from pipelines.identity.rules import load_rules
    from pipelines.identity.stitch import stitch, write_tables

    evidence = pl.scan_parquet(evidence_path / "*.parquet")
    result = stitch(evidence, rules=load_rules(), run_id="bench", run_at=datetime.now(UTC))
    started = time.perf_counter()
    write_tables(result, out_dir)
    metrics = {k: v for k, v in result.metrics.items() if not k.startswith("seconds")}
    steps = {k[8:-1]: v for k, v in result.metrics.items() if k.startswith("seconds")}
    steps["write"] = round(time.perf_counter() - started, 3)
    return {
        "persons": metrics["persons"],
        "largest_cluster": metrics["largest_cluster"],
        "steps": steps,
    }


def run_networkx(evidence_path: Path) -> dict:
    import networkx

    started = time.perf_counter()
    edges, node_count = _anchor_edges(evidence_path)
    prepared = time.perf_counter()
    graph = networkx.Graph()
    graph.add_nodes_from(range(node_count))
    graph.add_edges_from(edges.iter_rows())
    components = sum(1 for _ in networkx.connected_components(graph))
    return {"persons": components, "steps": _split(started, prepared)}


def run_duckdb(evidence_path: Path) -> dict:
    import duckdb

    started = time.perf_counter()
    edges, node_count = _anchor_edges(evidence_path)
    prepared = time.perf_counter()
    connection = duckdb.connect()
    connection.register("edge_input", edges.to_arrow())
    connection.execute(
        "create table edges as select a, b from edge_input union all select b, a from edge_input"
    )
    connection.execute(
        f"create table labels as select range as node, range as label from range({node_count})"
    )
    iterations = 0
    while True:  # a loop over propagation rounds, the algorithm under test
        iterations += 1
        connection.execute(
            """
            create or replace table next_labels as
            select labels.node, least(labels.label, coalesce(min(neighbour.label), labels.label)) as label
            from labels
            left join edges on edges.a = labels.node
            left join labels as neighbour on neighbour.node = edges.b
            group by labels.node, labels.label
            """
        )
        changed = connection.execute(
            "select count(*) from next_labels join labels using (node) where next_labels.label <> labels.label"
        ).fetchone()[0]
        connection.execute("drop table labels")
        connection.execute("alter table next_labels rename to labels")
        if changed == 0:
            break
    persons = connection.execute("select count(distinct label) from labels").fetchone()[0]
    return {"persons": persons, "iterations": iterations, "steps": _split(started, prepared)}


def _child(arguments: argparse.Namespace) -> None:
    started = time.perf_counter()
    if arguments.engine == "stitch":
        details = run_stitch(arguments.evidence, arguments.out)
    elif arguments.engine == "networkx":
        details = run_networkx(arguments.evidence)
    else:
        details = run_duckdb(arguments.evidence)
    details["seconds"] = round(time.perf_counter() - started, 2)
    details["peak_mb"] = round(_peak_mb(), 1)
    print(json.dumps(details))


def _generate(size: int, path: Path) -> dict:
    """Synthetic evidence for about `size` edges, written in chunks of persons (bounded memory)."""
    from pipelines.identity.synthetic import generate_evidence

    if not path.exists():
        path.mkdir(parents=True)
        persons = int(size / EDGES_PER_PERSON)
        for first in range(0, persons, CHUNK_PERSONS):
            count = min(CHUNK_PERSONS, persons - first)
            evidence, _ = generate_evidence(count, seed=size % 997 + first, first_person=first)
            evidence.write_parquet(path / f"part-{first // CHUNK_PERSONS:04d}.parquet")
            del evidence
    frame = pl.scan_parquet(path / "*.parquet")
    rows = frame.select(pl.len()).collect().item()
    edges = frame.filter(~pl.col("is_anchor")).select(pl.len()).collect().item()
    return {"rows": rows, "edges": edges}


def _measure(engine: str, evidence: Path, out: Path, cap: float, memory_cap_mb: float) -> dict:
    """Run one measurement in a child process; stop it past the time or memory cap.

    The memory watchdog protects a shared machine: a child above `memory_cap_mb` of resident
    memory is stopped and reported, instead of letting the kernel's OOM killer pick a victim.
    """
    import psutil

    command = [
        sys.executable, "-m", "bench.identity_bench", "--child", engine,
        "--evidence", str(evidence), "--out", str(out),
    ]  # fmt: skip
    started = time.perf_counter()
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as child:
        watched = psutil.Process(child.pid)
        peak = 0.0
        while child.poll() is None:  # a watchdog loop over time ticks, not over data
            try:
                peak = max(peak, watched.memory_info().rss / 2**20)
            except psutil.NoSuchProcess:
                break
            if peak > memory_cap_mb or time.perf_counter() - started > cap:
                child.kill()
                child.wait()
                what = f"{peak:.0f} MB" if peak > memory_cap_mb else f"{cap:.0f} s"
                return {"status": f"stopped at {what} (cap)"}
            time.sleep(0.2)
        stdout, stderr = child.communicate()
    if child.returncode != 0:
        return {"status": f"failed (exit {child.returncode}): {stderr.strip().splitlines()[-1:]}"}
    result = json.loads(stdout.strip().splitlines()[-1])
    result["wall_with_startup"] = round(time.perf_counter() - started, 2)
    return {"status": "ok", **result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="1000000,5000000,20000000", help="edge counts, comma-separated"
    )
    parser.add_argument("--engines", default="stitch,duckdb_sql,networkx")
    parser.add_argument(
        "--cap-seconds", type=float, default=900.0, help="stop a measurement after this long"
    )
    parser.add_argument(
        "--memory-cap-mb",
        type=float,
        default=16_000,
        help="stop a measurement above this resident memory",
    )
    parser.add_argument(
        "--networkx-max-edges",
        type=int,
        default=5_000_000,
        help="largest size given to networkx (its graph needs ~1 KB per edge of memory)",
    )
    parser.add_argument(
        "--child", choices=["stitch", "networkx", "duckdb_sql"], help=argparse.SUPPRESS
    )
    parser.add_argument("--evidence", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child:
        arguments.engine = arguments.child
        _child(arguments)
        return 0

    stopped: set[str] = set()
    report = []
    for size in [int(text) for text in arguments.sizes.split(",")]:
        evidence = RESULTS / f"evidence_{size}"
        shape = _generate(size, evidence)
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(
            f"\n== {size:,} target edges: {shape['edges']:,} edges, {shape['rows']:,} evidence rows "
            f"(load average {load} on {os.cpu_count()} cores) ==",
            flush=True,
        )
        for engine in arguments.engines.split(","):
            if engine == "networkx" and size > arguments.networkx_max_edges:
                print(f"{engine:>11}: skipped (above --networkx-max-edges)")
                continue
            if engine in stopped:
                print(f"{engine:>11}: skipped (did not finish a smaller size)")
                continue
            outcome = _measure(
                engine,
                evidence,
                RESULTS / f"tables_{size}",
                arguments.cap_seconds,
                arguments.memory_cap_mb,
            )
            if outcome["status"] != "ok":
                stopped.add(engine)
                print(f"{engine:>11}: {outcome['status']}", flush=True)
            else:
                extra = outcome.get("steps") or {
                    k: outcome[k] for k in ("iterations",) if k in outcome
                }
                print(
                    f"{engine:>11}: {outcome['seconds']:8.2f} s  peak {outcome['peak_mb']:8.0f} MB  "
                    f"persons {outcome['persons']:,}  {extra}",
                    flush=True,
                )
            report.append({"size": size, **shape, "engine": engine, **outcome})
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "report.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
