"""Identity stitching benchmark: `python -m bench.identity_bench [--sizes 1000000,5000000,20000000]`.

For each size (edges = non-anchor evidence rows) it generates synthetic evidence with the
realistic shape (devkit.identity.synthetic: many small clusters, some large ones, the traps),
writes it as Parquet, and runs every engine on that same input, each run in its own subprocess:
wall time of the work (imports excluded), peak memory (the child's own peak RSS), CPU seconds.

Engines:

* `stitch`: the pipeline end to end, as the nightly asset runs it — read the evidence Parquet,
  normalise, guard, limits, components, stable ids, and write the seven identity tables.
* `nightly`: the nightly asset's night (pipelines/identity/nightly.py): the previous night
  (every record but the night's: the latest `--night-share` of the records by their last
  `observed_at`, 1 % by default) is stitched first, outside the timing, by a child process
  (cached in `tables_<size>/nightly_previous_<share>/`; delete it after changing the code);
  then the timed night, as the asset runs it, scans the evidence in streaming passes (holding
  per record two 64-bit integers, and the rows it re-stitches), reads the integer state,
  re-stitches the components the night's records touch, and writes the seven tables (the
  previous tables' kept rows streamed from file to file) and the new state.
* `duckdb_sql`: a warehouse-native stitcher, the way dbt-based identity graphs work: everything
  in DuckDB SQL over the identifier strings. Read the evidence Parquet; normalise with SQL
  expressions generated from the same rules file (trim / lower / digits per kind, the e-mail
  plus-tag, dot and domain-alias rules); build anchor -> other edges by joining the rows of a
  record on (source, stream, record_id); iterate `min(label)` over string labels
  (`kind:value`), materialising a new table per round, until no label changes; then derive
  person ids (`p_` + 16 hex digits of SHA-256 of the final label) into a table. An in-memory
  database with all DuckDB's threads (spilling to a temporary directory when it must).
* `duckdb_sql_int`: the same label propagation in DuckDB, but over integers: Polars reads,
  normalises and numbers the identifiers, and DuckDB only iterates. Shown beside the honest
  variant because it is what this benchmark used to call `duckdb_sql`; warehouse-native tools
  do not work this way.
* `networkx`: Polars reads, normalises and numbers the identifiers, then
  `networkx.connected_components` (up to `--networkx-max-edges`: its graph needs about 1 KB of
  memory per edge).
* `io_floor`: not a stitcher but a floor under any engine that produces the documented outputs:
  read the evidence Parquet (every value of every column decoded in one streaming pass, nothing
  kept) and write the three large identity tables (identity_map, identity_edges,
  identity_record_persons) with the pipeline's own writer and settings. The tables are the
  stitcher's output of the same size (run `stitch` first), loaded into memory before the clock
  starts, so only the reading and the writing are timed (its wall and CPU seconds; its peak
  memory includes the loaded tables). Beside a baseline it shows how much of a speed-up target
  the I/O alone leaves.

The baselines do less than `stitch`: no guards (junk, test and generic identifiers), no degree
or account limits, no provenance tables, no stable ids against a previous map, no writing. So
their person counts differ from the stitcher's (they over-merge), and the speed-ups printed are
conservative. The summary also compares the graph step alone (GRAPH_STEPS: the stitcher's
account limit and compiled components against each baseline's label propagation or components),
the algorithms like for like; the end-to-end figure stays the one the targets are about.

A run past `--cap-seconds`, or above `--memory-cap-mb` of resident memory, is stopped by the
watchdog (on a shared machine this keeps the kernel's OOM killer from picking a victim) and
reported as such; larger sizes are then skipped for that engine. `--repeats N` runs each engine
N times per size and reports the spread (min / median / max). The table is printed and written
with every run to bench/results/identity/report.json (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

RESULTS = Path(__file__).resolve().parent / "results" / "identity"
EDGES_PER_PERSON = 4.0  # what devkit.identity.synthetic produces on average
CHUNK_PERSONS = 500_000
ENGINES = ("stitch", "nightly", "io_floor", "duckdb_sql", "duckdb_sql_int", "networkx")
NOT_BASELINES = ("stitch", "nightly", "io_floor")
NIGHT_SHARE = 0.01  # the nightly engine's night: the latest 1 % of the records
# the tables io_floor writes: the large ones, with strings on every row
FLOOR_TABLES = ("identity_map", "identity_edges", "identity_record_persons")
# their columns of few values, which the stitcher hands to the writer as dictionaries
FEW_VALUES = ("identifier_kind", "left_kind", "right_kind", "source", "stream", "rule")
# each engine's graph step, the algorithm the baselines stand for: the stitcher's account limit
# and compiled components; the SQL rounds of label propagation; networkx's components
GRAPH_STEPS = {
    "stitch": "account_limit_and_components",
    "duckdb_sql": "propagate",
    "duckdb_sql_int": "components",
    "networkx": "components",
}


def _usage() -> dict:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "peak_mb": round(usage.ru_maxrss / 1024.0, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
    }


def _anchor_edges(evidence_path: Path) -> tuple[pl.DataFrame, int]:
    """Normalised anchor -> other edges as integer node pairs (what the Polars-fed baselines use)."""
    from pipelines.identity.normalise import normalise_identifiers
    from pipelines.identity.rules import load_rules

    rules = load_rules()
    evidence = pl.read_parquet(evidence_path / "*.parquet")
    evidence = normalise_identifiers(evidence, rules).filter(
        pl.col("identifier_value").is_not_null()
    )
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


def _night_split(evidence: pl.LazyFrame, share: float) -> pl.LazyFrame:
    """The history before the night: every record but the latest `share` of them (by their
    last `observed_at`), as a night adds the records that arrived since the previous one."""
    key = ["source", "stream", "record_id"]
    last_seen = evidence.group_by(key).agg(pl.col("observed_at").max().alias("last_seen"))
    cutoff = last_seen.select(pl.col("last_seen").quantile(1 - share, "lower")).collect().item()
    night = last_seen.filter(pl.col("last_seen") > cutoff).select(key)
    return evidence.join(night, on=key, how="anti")


def run_nightly_setup(evidence_path: Path, out_dir: Path, share: float) -> dict:
    """Untimed: the previous night (every record but the night's), its tables and state."""
    from pipelines.identity.nightly import CARRIED_TABLES, stitch_night
    from pipelines.identity.rules import load_rules

    # the history as a file: the stitcher reads a lazy source twice and needs the same row
    # order both times, which a scan of files gives and a streaming anti-join does not
    out_dir.mkdir(parents=True, exist_ok=True)
    _night_split(pl.scan_parquet(evidence_path / "*.parquet"), share).sink_parquet(
        out_dir / "history.parquet"
    )
    history = pl.scan_parquet(out_dir / "history.parquet")
    night = stitch_night(
        history, rules=load_rules(), run_id="previous", run_at=datetime.now(UTC),
        state=None, previous_tables={},
    )  # fmt: skip
    for name in CARRIED_TABLES:
        night.tables[name].write_parquet(out_dir / f"{name}.parquet")
    night.state.write(out_dir / "state")
    return {"persons": night.tables["identity_map"]["person_id"].n_unique()}


def run_nightly(evidence_path: Path, out_dir: Path, share: float) -> dict:
    """A night: read the whole evidence, the previous tables and state; re-stitch what the
    night's records touch; write the seven tables and the new state. The previous night is
    prepared first by a child process (`nightly_setup`), outside the timing and the memory."""
    setup = out_dir / f"nightly_previous_{share:g}"
    if not (setup / "state").exists():
        subprocess.run(
            [sys.executable, "-m", "bench.identity_bench", "--child", "nightly_setup",
             "--evidence", str(evidence_path), "--out", str(setup),
             "--night-share", str(share)],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    from pipelines.identity.nightly import CARRIED_TABLES, NightState, stitch_night, write_night
    from pipelines.identity.rules import load_rules

    started = time.perf_counter()
    # as the asset reads them: the evidence and the previous tables as scans of their files
    evidence = pl.scan_parquet(evidence_path / "*.parquet")
    previous = {name: pl.scan_parquet(setup / f"{name}.parquet") for name in CARRIED_TABLES}
    state = NightState.read(setup / "state")
    read = time.perf_counter()
    night = stitch_night(
        evidence, rules=load_rules(), run_id="bench", run_at=datetime.now(UTC),
        state=state, previous_tables=previous,
    )  # fmt: skip
    stitched = time.perf_counter()
    paths = write_night(night, out_dir / "nightly")
    identity_map = pl.scan_parquet(paths["identity_map"])
    return {
        "persons": identity_map.select(pl.col("person_id").n_unique()).collect().item(),
        "restitched_records": night.restitched_records,
        "mode": night.mode,
        "seconds": round(time.perf_counter() - started, 2),
        "steps": {
            "read": round(read - started, 2),
            "stitch_night": round(stitched - read, 2),
            **{f"night:{step}": seconds for step, seconds in night.seconds.items()},
            "write": round(time.perf_counter() - stitched, 2),
        },
    }


def run_io_floor(evidence_path: Path, tables_dir: Path) -> dict:
    """Read the evidence and write the stitcher's three large tables (see the docstring)."""
    from pipelines.identity.tables import SLICE_ROWS, Gathered, write_table

    missing = [name for name in FLOOR_TABLES if not (tables_dir / f"{name}.parquet").exists()]
    if missing:
        raise FileNotFoundError(
            f"io_floor writes the stitcher's tables, and {tables_dir} lacks {missing}: "
            "run the stitch engine at this size first (--engines stitch,io_floor)"
        )
    frames = {name: pl.read_parquet(tables_dir / f"{name}.parquet") for name in FLOOR_TABLES}
    frames = {
        name: frame.with_columns(
            pl.col(column).cast(pl.Categorical) for column in FEW_VALUES if column in frame.columns
        )
        for name, frame in frames.items()
    }
    persons = frames["identity_map"]["person_id"].n_unique()
    # slices as the stitcher hands them to the writer (the same row groups), built for free
    tables = {
        name: Gathered(frame.height, lambda start, stop, frame=frame: frame[start:stop])
        for name, frame in frames.items()
    }
    with tempfile.TemporaryDirectory(prefix="identity-bench-floor-", dir=tables_dir) as out:
        cpu_before = _usage()["cpu_seconds"]
        started = time.perf_counter()
        rows = _read_every_value(evidence_path)
        read = time.perf_counter()
        with ThreadPoolExecutor(max_workers=2) as pool:  # as stitch.write_tables does
            for future in [
                pool.submit(write_table, table.slices(SLICE_ROWS), Path(out) / f"{name}.parquet")
                for name, table in tables.items()
            ]:
                future.result()
        written = time.perf_counter()
        cpu = _usage()["cpu_seconds"] - cpu_before
    return {
        "persons": persons,
        "seconds": round(written - started, 2),
        "cpu_seconds": round(cpu, 2),  # of the timed part only (not loading the tables)
        "steps": {
            "read_evidence": round(read - started, 2),
            "write_tables": round(written - read, 2),
            "evidence_rows": rows,
        },
    }


def _read_every_value(evidence_path: Path) -> int:
    """Decode every value of the evidence in one streaming pass, keeping nothing (a trivial sum
    per column makes the engine decode it); returns the row count."""
    source = pl.scan_parquet(evidence_path / "*.parquet")
    touch = [
        pl.col(name).str.len_bytes().sum() if dtype == pl.String else pl.col(name).max()
        for name, dtype in source.collect_schema().items()
    ]
    return source.select(pl.len(), *touch).collect(engine="streaming").item(0, 0)


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


def normalise_sql(rules) -> str:
    """A DuckDB expression normalising `identifier_value` by `identifier_kind`, from the rules.

    The same steps as pipelines.identity.normalise, written as a warehouse would write them
    (DuckDB's `trim` strips spaces, Polars' strips all whitespace; the evidence pads with spaces).
    """
    branches = []
    for kind, rule in rules.kinds.items():  # one CASE branch per configured kind
        value = "identifier_value"
        for step in rule.normalise:
            value = {
                "trim": f"trim({value})",
                "lower": f"lower({value})",
                "digits": f"regexp_replace({value}, '[^0-9]', '', 'g')",
            }[step]
        if kind == "email":
            value = _email_sql(rules, value)
        branches.append(f"when '{kind}' then {value}")
    return f"case identifier_kind {' '.join(branches)} end"


def _email_sql(rules, value: str) -> str:
    def quoted(items) -> str:
        return ", ".join("'" + item.replace("'", "''") + "'" for item in items)

    domain = f"regexp_extract({value}, '^[^@]*@([^@]*)$', 1)"
    if rules.domain_aliases:
        aliases = " ".join(
            f"when '{alias}' then '{target}'" for alias, target in rules.domain_aliases.items()
        )
        domain = f"(case {domain} {aliases} else {domain} end)"
    local = f"regexp_extract({value}, '^([^@]*)@[^@]*$', 1)"
    plus = rules.strip_plus_tag
    if plus == "all":
        local = f"regexp_replace({local}, '\\+.*$', '')"
    elif isinstance(plus, tuple) and plus:
        local = (
            f"(case when {domain} in ({quoted(plus)}) "
            f"then regexp_replace({local}, '\\+.*$', '') else {local} end)"
        )
    if rules.dot_insensitive_domains:
        local = (
            f"(case when {domain} in ({quoted(rules.dot_insensitive_domains)}) "
            f"then replace({local}, '.', '') else {local} end)"
        )
    return (
        f"(case when regexp_full_match({value}, '[^@]*@[^@]*') "
        f"then {local} || '@' || {domain} else {value} end)"
    )


def _propagate(connection, round_query: str) -> int:
    """Rounds of `round_query` (labels -> new labels), each materialised as a new table, until
    no label changes; returns the number of rounds."""
    rounds = 0
    while True:  # a loop over propagation rounds, the algorithm under test
        rounds += 1
        connection.execute(f"create or replace table next_labels as {round_query}")
        changed = connection.execute(
            "select count(*) from next_labels inner join labels using (node) "
            "where next_labels.label <> labels.label"
        ).fetchone()[0]
        connection.execute("drop table labels")
        connection.execute("alter table next_labels rename to labels")
        if changed == 0:
            return rounds


def run_duckdb(evidence_path: Path) -> dict:
    """The warehouse-native stitcher: all in SQL over identifier strings (see the docstring)."""
    import duckdb

    from pipelines.identity.rules import load_rules

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="identity-bench-duckdb-") as spill:
        connection = duckdb.connect(config={"temp_directory": spill})
        evidence = str(evidence_path / "*.parquet").replace("'", "''")
        connection.execute(
            f"""
            create table identifiers as
            with normalised as (
                select source, stream, record_id, is_anchor, identifier_kind,
                    {normalise_sql(load_rules())} as identifier_value
                from read_parquet('{evidence}')
                where identifier_value is not null
            )
            select source, stream, record_id, is_anchor,
                identifier_kind || ':' || identifier_value as identifier
            from normalised
            where identifier_value is not null
            """
        )
        connection.execute(
            """
            create table edges as
            with record_edges as (
                select distinct anchor.identifier as a, other.identifier as b
                from identifiers as other
                inner join identifiers as anchor
                    on anchor.source = other.source
                    and anchor.stream = other.stream
                    and anchor.record_id = other.record_id
                where anchor.is_anchor and not other.is_anchor
                    and anchor.identifier <> other.identifier
            )
            select a, b from record_edges
            union all
            select b, a from record_edges
            """
        )
        connection.execute(
            "create table labels as "
            "select distinct identifier as node, identifier as label from identifiers"
        )
        prepared = time.perf_counter()
        iterations = _propagate(
            connection,
            """
            select node, min(label) as label
            from (
                select node, label from labels
                union all
                select edges.a as node, labels.label
                from edges inner join labels on labels.node = edges.b
            )
            group by node
            """,
        )
        propagated = time.perf_counter()
        connection.execute(
            "create table persons as "
            "select node, 'p_' || left(sha256(label), 16) as person_id from labels"
        )
        persons = connection.execute("select count(distinct person_id) from persons").fetchone()[0]
        connection.close()
    return {
        "persons": persons,
        "iterations": iterations,
        "steps": {
            "read_normalise_edges": round(prepared - started, 2),
            "propagate": round(propagated - prepared, 2),
            "person_ids": round(time.perf_counter() - propagated, 2),
        },
    }


def run_duckdb_int(evidence_path: Path) -> dict:
    """Label propagation in DuckDB over integer nodes that Polars prepared."""
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
    iterations = _propagate(
        connection,
        """
        select labels.node, least(labels.label, coalesce(min(neighbour.label), labels.label)) as label
        from labels
        left join edges on edges.a = labels.node
        left join labels as neighbour on neighbour.node = edges.b
        group by labels.node, labels.label
        """,
    )
    persons = connection.execute("select count(distinct label) from labels").fetchone()[0]
    return {"persons": persons, "iterations": iterations, "steps": _split(started, prepared)}


RUNNERS = {
    "stitch": lambda arguments: run_stitch(arguments.evidence, arguments.out),
    "nightly": lambda arguments: run_nightly(
        arguments.evidence, arguments.out, arguments.night_share
    ),
    "nightly_setup": lambda arguments: run_nightly_setup(
        arguments.evidence, arguments.out, arguments.night_share
    ),
    "io_floor": lambda arguments: run_io_floor(arguments.evidence, arguments.out),
    "duckdb_sql": lambda arguments: run_duckdb(arguments.evidence),
    "duckdb_sql_int": lambda arguments: run_duckdb_int(arguments.evidence),
    "networkx": lambda arguments: run_networkx(arguments.evidence),
}


def _child(arguments: argparse.Namespace) -> None:
    started = time.perf_counter()
    details = RUNNERS[arguments.child](arguments)
    details.setdefault("seconds", round(time.perf_counter() - started, 2))
    for name, value in _usage().items():  # a runner may report the figures of its timed part
        details.setdefault(name, value)
    print(json.dumps(details))


def _generate(size: int, path: Path) -> dict:
    """Synthetic evidence for about `size` edges, written in chunks of persons (bounded memory)."""
    from devkit.identity.synthetic import generate_evidence

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


def _measure(
    engine: str, evidence: Path, out: Path, cap: float, memory_cap_mb: float, share: float
) -> dict:
    """Run one measurement in a child process; stop it past the time or memory cap.

    The memory watchdog protects a shared machine: a child above `memory_cap_mb` of resident
    memory is stopped and reported, instead of letting the kernel's OOM killer pick a victim.
    """
    import psutil

    command = [
        sys.executable, "-m", "bench.identity_bench", "--child", engine,
        "--evidence", str(evidence), "--out", str(out), "--night-share", str(share),
    ]  # fmt: skip
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
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
                if peak > memory_cap_mb:
                    return {"status": f"stopped at {peak:.0f} MB (memory cap)"}
                return {
                    "status": f"stopped at {cap:.0f} s (time cap)",
                    "stopped_after": round(time.perf_counter() - started, 1),
                }
            time.sleep(0.2)
        stdout, stderr = child.communicate()
    if child.returncode != 0:
        return {"status": f"failed (exit {child.returncode}): {stderr.strip().splitlines()[-1:]}"}
    result = json.loads(stdout.strip().splitlines()[-1])
    result["wall_with_startup"] = round(time.perf_counter() - started, 2)
    result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return {"status": "ok", **result}


def _spread(values: list[float]) -> dict:
    return {
        "min": min(values),
        "median": round(statistics.median(values), 2),
        "max": max(values),
    }


def summarise(runs: list[dict]) -> list[dict]:
    """Per size and engine: time and peak memory over the repeats, and stitch's speed-up.

    With `io_floor` measured, each baseline also gets the largest speed-up any engine writing
    the documented tables could reach over it (`io_floor_speedup_at_most`). Each engine's graph
    step (GRAPH_STEPS) gets its own median (`graph_seconds`) and each baseline the stitcher's
    speed-up on that step alone (`stitch_graph_speedup`): the algorithms compared like for like,
    beside the end-to-end figure, which is the target's.

    A baseline stopped at the time cap gives a lower bound on the speed-up (`>=`); one stopped
    at the memory cap gives none.
    """
    summary = []
    for size in sorted({run["size"] for run in runs}):
        at_size = [run for run in runs if run["size"] == size]
        rows = {}
        for engine in dict.fromkeys(run["engine"] for run in at_size):
            mine = [run for run in at_size if run["engine"] == engine]
            done = [run for run in mine if run["status"] == "ok"]
            row = {"size": size, "engine": engine, "runs": len(mine), "ok": len(done)}
            if done:
                row["seconds"] = _spread([run["seconds"] for run in done])
                row["peak_mb"] = _spread([run["peak_mb"] for run in done])
                row["cpu_seconds"] = _spread([run["cpu_seconds"] for run in done])
                row["persons"] = done[0]["persons"]
                graph = [run["steps"][GRAPH_STEPS[engine]] for run in done if _has_graph(run)]
                if graph:
                    row["graph_seconds"] = round(statistics.median(graph), 3)
            else:
                row["status"] = mine[0]["status"] if mine else "skipped"
                if any("stopped_after" in run for run in mine):
                    row["at_least_seconds"] = min(
                        run["stopped_after"] for run in mine if "stopped_after" in run
                    )
            rows[engine] = row
        stitch = rows.get("stitch", {}).get("seconds", {}).get("median")
        for engine, row in rows.items():
            if engine in NOT_BASELINES or not stitch:
                continue
            if "seconds" in row:
                row["stitch_speedup"] = round(row["seconds"]["median"] / stitch, 1)
            elif "at_least_seconds" in row:
                row["stitch_speedup_at_least"] = round(row["at_least_seconds"] / stitch, 1)
        nightly = rows.get("nightly", {}).get("seconds", {}).get("median")
        for engine, row in rows.items():
            if engine not in NOT_BASELINES and nightly and "seconds" in row:
                row["nightly_speedup"] = round(row["seconds"]["median"] / nightly, 1)
        graph = rows.get("stitch", {}).get("graph_seconds")
        for engine, row in rows.items():
            if graph and engine not in NOT_BASELINES and "graph_seconds" in row:
                row["stitch_graph_speedup"] = round(row["graph_seconds"] / graph, 1)
        floor = rows.get("io_floor", {}).get("seconds", {}).get("median")
        for engine, row in rows.items():
            if floor and engine not in NOT_BASELINES and "seconds" in row:
                # the largest speed-up over this baseline that the I/O alone allows
                row["io_floor_speedup_at_most"] = round(row["seconds"]["median"] / floor, 1)
        summary.extend(rows.values())
    return summary


def _has_graph(run: dict) -> bool:
    return GRAPH_STEPS.get(run["engine"]) in (run.get("steps") or {})


def _cell(row: dict) -> str:
    if "seconds" not in row:
        return row.get("status", "skipped")
    seconds, peak = row["seconds"], row["peak_mb"]
    spread = "" if row["ok"] == 1 else f" ({seconds['min']:.1f}-{seconds['max']:.1f})"
    return f"{seconds['median']:.1f} s{spread}, {peak['max']:.0f} MB"


def print_table(summary: list[dict]) -> None:
    engines = list(dict.fromkeys(row["engine"] for row in summary))
    print("\nsize (edges)  " + "".join(f"{engine:>34}" for engine in engines))
    for size in sorted({row["size"] for row in summary}):
        cells = {row["engine"]: row for row in summary if row["size"] == size}
        line = f"{size:>12,}  "
        for engine in engines:
            line += f"{_cell(cells[engine]) if engine in cells else '-':>34}"
        print(line)
        speedups = []
        for engine in engines:
            row = cells.get(engine, {})
            if "stitch_speedup" in row:
                speedups.append(f"{row['stitch_speedup']}x faster than {engine}")
            elif "stitch_speedup_at_least" in row:
                speedups.append(f">={row['stitch_speedup_at_least']}x faster than {engine}")
        if speedups:
            print(f"{'':>14}stitch is " + ", ".join(speedups))
        nightly = [
            f"{row['nightly_speedup']}x faster than {engine}"
            for engine, row in cells.items()
            if "nightly_speedup" in row
        ]
        if nightly:
            print(
                f"{'':>14}a night (the latest records against the state) is " + ", ".join(nightly)
            )
        graph = [
            f"{row['stitch_graph_speedup']}x faster than {engine}'s "
            f"{GRAPH_STEPS[engine].replace('_', ' ')} ({row['graph_seconds']:.2f} s)"
            for engine, row in cells.items()
            if "stitch_graph_speedup" in row
        ]
        if graph:
            seconds = cells["stitch"]["graph_seconds"]
            print(
                f"{'':>14}the graph step alone (stitch: account limit + components, "
                f"{seconds:.2f} s) is " + ", ".join(graph)
            )
        ceilings = [
            f"{row['io_floor_speedup_at_most']}x over {engine}"
            for engine, row in cells.items()
            if "io_floor_speedup_at_most" in row
        ]
        if ceilings:
            print(f"{'':>14}reading and writing alone allow at most " + ", ".join(ceilings))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="1000000,5000000,20000000", help="edge counts, comma-separated"
    )
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--repeats", type=int, default=1, help="runs per engine and size")
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
        "--night-share",
        type=float,
        default=NIGHT_SHARE,
        help="the nightly engine's night: this share of the records, the latest (default 0.01)",
    )
    parser.add_argument("--child", choices=list(RUNNERS), help=argparse.SUPPRESS)
    parser.add_argument("--evidence", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child:
        _child(arguments)
        return 0

    stopped: set[str] = set()
    runs = []
    for size in [int(text) for text in arguments.sizes.split(",")]:
        evidence = RESULTS / f"evidence_{size}"
        shape = _generate(size, evidence)
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(
            f"\n== {size:,} target edges: {shape['edges']:,} edges, {shape['rows']:,} evidence rows "
            f"(load average {load} on {os.cpu_count()} cores) ==",
            flush=True,
        )
        for repeat in range(arguments.repeats):  # a handful of repeats
            for engine in arguments.engines.split(","):  # a handful of engines
                if engine == "networkx" and size > arguments.networkx_max_edges:
                    if repeat == 0:
                        print(f"{engine:>14}: skipped (above --networkx-max-edges)")
                    runs.append(
                        {
                            "size": size,
                            **shape,
                            "engine": engine,
                            "repeat": repeat,
                            "status": "skipped (above --networkx-max-edges)",
                        }
                    )
                    continue
                if engine in stopped:
                    print(f"{engine:>14}: skipped (stopped at a cap before)")
                    runs.append(
                        {
                            "size": size,
                            **shape,
                            "engine": engine,
                            "repeat": repeat,
                            "status": "skipped (stopped at a cap before)",
                        }
                    )
                    continue
                outcome = _measure(
                    engine,
                    evidence,
                    RESULTS / f"tables_{size}",
                    arguments.cap_seconds,
                    arguments.memory_cap_mb,
                    arguments.night_share,
                )
                if outcome["status"] != "ok":
                    stopped.add(engine)
                    print(f"{engine:>14}: {outcome['status']}", flush=True)
                else:
                    extra = outcome.get("steps") or {}
                    if "iterations" in outcome:
                        extra = {"iterations": outcome["iterations"], **extra}
                    print(
                        f"{engine:>14}: {outcome['seconds']:8.2f} s  peak {outcome['peak_mb']:8.0f} MB  "
                        f"cpu {outcome['cpu_seconds']:7.1f} s  persons {outcome['persons']:,}  {extra}",
                        flush=True,
                    )
                runs.append({"size": size, **shape, "engine": engine, "repeat": repeat, **outcome})
    summary = summarise(runs)
    print_table(summary)
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": {"cores": os.cpu_count(), "load_average_at_end": os.getloadavg()},
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": summary,
        "runs": runs,
    }
    (RESULTS / "report.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
