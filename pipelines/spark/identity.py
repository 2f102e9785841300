"""The identity step on Spark (issue 22), for identity graphs that do not fit one machine.

The stitcher's decisions (degree limits, the one-account chain rule, stable ids, merges,
splits, erasure) never look beyond a *candidate component*: the identifiers joined by appearing
in one record or by `same_customer_id`, whatever the stitcher then decides about the link
(pipelines/identity/nightly.py relies on the same fact). So the one-machine `stitch` of a set of
whole candidate components gives exactly the full stitch's rows for them, and Spark only has to
cut the evidence into such sets:

1. each distinct raw identifier is normalised, guarded and put in published form by the
   one-machine code (`normalise_and_guard`, `publish_values`) on Arrow batches (`mapInArrow`);
2. a graph of 64-bit hash nodes — records, published identifiers, an account value (joins a
   `web_user_id` and a `shop_customer_id` of equal value) and each previous person (keeps a
   previous person's identifiers together, for its stable id, merges and splits) — is labelled
   by connected components as DataFrame operations (`pipelines.spark.components`);
3. every component goes to one of `buckets` groups; each group's evidence rows and previous
   identity_map rows are stitched by `pipelines.identity.stitch.stitch` itself
   (`groupBy(bucket).cogroup(...).applyInArrow`), so both engines apply the same rules with the
   same code: no second implementation of a rule.

A hash collision between two nodes only joins two components into one group, which the stitch
handles like any other pair of independent components: the result does not depend on it, nor on
the number of buckets. The tables of all groups come back as one long DataFrame (a `table`
column and the union of the tables' columns); `SparkStitch.collect` makes the one-machine
`StitchResult` of it, `SparkStitch.table` one table as a Spark DataFrame.

What differs from the one-machine stitch: a whole candidate component is stitched on one
executor (its evidence must fit there); the metrics `seconds[...]` are Spark's steps; a new
person id is checked against the previous ids of its own group only, so two groups could derive
the same id where one machine would add a `#1` suffix (a 64-bit hash of an identifier that left
the previous map and came back): `SparkStitch.collect` raises `DuplicatePersonIds` then.
No Dagster here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from pipelines.identity.contract import ACCOUNT_LINK_KINDS, EVIDENCE_SCHEMA, MAP_SCHEMA, RECORD
from pipelines.identity.normalise import normalise_and_guard
from pipelines.identity.outputs import EDGE_COLUMNS, MERGE_COLUMNS
from pipelines.identity.published import publish_values
from pipelines.identity.rules import IdentityRules
from pipelines.identity.stitch import TABLES, StitchResult, stitch
from pipelines.identity.tables import Held, Tables
from pipelines.settings import Secret

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

TABLE_COLUMNS: dict[str, list[str]] = {
    "identity_map": list(MAP_SCHEMA),
    "identity_record_persons": [*RECORD, "person_id"],
    "identity_edges": EDGE_COLUMNS,
    "identity_rejected_edges": [*EDGE_COLUMNS, "reason"],
    "identity_merges": MERGE_COLUMNS,
    "identity_splits": ["run_id", "split_at", "previous_person_id", "person_id"],
    "identity_suppressed_records": RECORD,
}
TIMESTAMPS = ("first_seen_at", "last_seen_at", "observed_at", "merged_at", "split_at")
METRICS = "metrics"
OUTPUT_COLUMNS = sorted({c for columns in TABLE_COLUMNS.values() for c in columns})
OUTPUT_SCHEMA = pl.Schema(
    {
        "table": pl.String(),
        **{c: pl.Datetime("us") if c in TIMESTAMPS else pl.String() for c in OUTPUT_COLUMNS},
        "metric": pl.String(),
        "metric_value": pl.Float64(),
    }
)
"""One long table for every group's output: which table a row belongs to, the union of the
tables' columns, and the group's metrics as `metric, metric_value` rows (table `metrics`)."""

ANONYMOUS_IDENTIFIERS = "anonymous_identifiers"
ANONYMOUS_NEVER_LINKED = "anonymous_never_linked"
LARGEST = {"largest_cluster"}
"""Metrics that are a maximum over the groups; the others (counts) add up, except the share of
never-linked anonymous identifiers (from its two counts) and `identifiers_blocked` (distinct
over the whole evidence: one blocked value may be in many groups)."""


class DuplicatePersonIds(RuntimeError):
    """Two groups derived the same new person id (see the module's docstring)."""


def spark_session(
    master: str = "local[2]",
    app_name: str = "journey-identity",
    shuffle_partitions: int = 4,
    driver_memory: str = "2g",
) -> SparkSession:
    """A session fit for `stitch_spark`: UTC session time zone, the Python workers on this
    interpreter with this project importable (a cluster's executors need the project installed
    in their Python: docs/scale-out.md)."""
    from pyspark.sql import SparkSession

    # the Python workers run PYSPARK_PYTHON (read when the context starts; `spark.pyspark.python`
    # is not), by default a `python3` without this environment's packages
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    project = str(Path(__file__).resolve().parents[2])
    python_path = os.pathsep.join(p for p in (project, os.environ.get("PYTHONPATH")) if p)
    return (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.executorEnv.PYTHONPATH", python_path)
        .getOrCreate()
    )


def stop_session(spark: SparkSession) -> None:
    """Stop `spark` and the JVM pyspark started for it. `SparkSession.stop` leaves that JVM
    running for the life of the Python process, holding the heap it committed — 13.6 GB after
    the identity step at 1M persons with a 12g heap — while the nightly job's in-process
    executor goes on to dbt 2/2, whose Spark has a JVM and a heap of its own. A JVM pyspark did
    not start (a `spark-submit` driver's) is left alone; the next `spark_session` starts a new
    one. A session whose JVM was ended already (`getOrCreate` had handed the same session to an
    earlier caller of this) has nothing left to stop."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    if gateway is None:
        return
    spark.stop()
    process = getattr(gateway, "proc", None)
    if process is None:
        return
    gateway.shutdown()
    SparkContext._gateway = None
    SparkContext._jvm = None
    process.stdin.close()  # the gateway JVM exits at its stdin's end (pyspark/java_gateway.py)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _published(
    rules: IdentityRules, key: Secret | None, batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """`kind, raw_value` batches -> adds `normalised`, `value` (published form), `block_reason`:
    the one-machine normalisation, guards and pseudonymisation."""
    for batch in batches:
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        guarded = normalise_and_guard(
            frame.rename({"kind": "identifier_kind", "raw_value": "identifier_value"}), rules
        ).rename({"identifier_kind": "kind", "identifier_value": "value"})
        published = publish_values(guarded, rules, key)
        yield from _arrow(
            pl.DataFrame(
                {
                    "kind": frame["kind"],
                    "raw_value": frame["raw_value"],
                    "normalised": guarded["value"].cast(pl.String),
                    "value": published["value"].cast(pl.String),
                    "block_reason": published["block_reason"].cast(pl.String),
                }
            )
        ).to_batches()


@dataclass(frozen=True)
class _Options:
    rules: IdentityRules
    run_id: str
    run_at: datetime
    erasures: pl.DataFrame | None
    pseudonymize_key: Secret | None


def _stitch_group(options: _Options, evidence: pa.Table, previous: pa.Table) -> pa.Table:
    """One group's evidence rows and previous identity_map rows -> its tables and metrics as
    rows of OUTPUT_SCHEMA, by the one-machine `stitch`."""
    if evidence.num_rows == 0:  # previous persons without any evidence left: no rows
        return _arrow(pl.DataFrame(schema=OUTPUT_SCHEMA))
    rows = pl.from_arrow(evidence)
    assert isinstance(rows, pl.DataFrame)
    previous_map = pl.from_arrow(previous) if previous.num_rows else None
    assert previous_map is None or isinstance(previous_map, pl.DataFrame)
    result = stitch(
        rows.select(list(EVIDENCE_SCHEMA)),
        rules=options.rules,
        run_id=options.run_id,
        run_at=options.run_at,
        previous_map=previous_map.select(list(MAP_SCHEMA)) if previous_map is not None else None,
        erasures=options.erasures,
        pseudonymize_key=options.pseudonymize_key,
    )
    parts = [
        result.tables[name]
        .with_columns(table=pl.lit(name))
        .cast({c: OUTPUT_SCHEMA[c] for c in TABLE_COLUMNS[name]})
        for name in TABLES
    ]
    identity_map = result.tables["identity_map"]
    metrics = {
        name: float(value)
        for name, value in result.metrics.items()
        if not name.startswith("seconds[") and name != "anonymous_never_linked_share"
    }
    metrics.update(_anonymous_counts(identity_map, options.rules))
    parts.append(
        pl.DataFrame(
            {
                "table": METRICS,
                "metric": list(metrics),
                "metric_value": list(metrics.values()),
            },
            schema_overrides={"metric_value": pl.Float64},
        )
    )
    return _arrow(pl.concat(parts, how="diagonal").select(OUTPUT_SCHEMA.names()))


def _arrow(frame: pl.DataFrame) -> pa.Table:
    """A frame as Arrow with the types Spark expects of a UDF's result (`string`, not Polars'
    `large_string`)."""
    table = frame.to_arrow()
    return table.cast(
        pa.schema(
            [
                pa.field(f.name, pa.string() if pa.types.is_large_string(f.type) else f.type)
                for f in table.schema
            ]
        )
    )


def _anonymous_counts(identity_map: pl.DataFrame, rules: IdentityRules) -> dict[str, float]:
    """The two counts behind `anonymous_never_linked_share`: anonymous identifiers, and those
    of them whose person holds no identifier of another kind."""
    anonymous = pl.col("identifier_kind").is_in(list(rules.anonymous_kinds))
    persons = identity_map.with_columns(
        is_anonymous=anonymous,
        is_linked=(~anonymous).any().over("person_id"),
    )
    return {
        ANONYMOUS_IDENTIFIERS: float(persons["is_anonymous"].sum()),
        ANONYMOUS_NEVER_LINKED: float(
            persons.filter(pl.col("is_anonymous") & ~pl.col("is_linked")).height
        ),
    }


@dataclass
class SparkStitch:
    """The stitched tables of every group as one long Spark DataFrame (OUTPUT_SCHEMA), checkpointed."""

    frame: DataFrame
    identifiers_blocked: int
    seconds: dict[str, float]

    def table(self, name: str) -> DataFrame:
        """One identity table as a Spark DataFrame (timestamps without time zone, UTC)."""
        from pyspark.sql import functions as F

        return self.frame.where(F.col("table") == name).select(*TABLE_COLUMNS[name])

    def _collected(self, name: str, columns: list[str]) -> pl.DataFrame:
        """The rows of one table (or the metrics) on the driver, typed as OUTPUT_SCHEMA: one
        table at a time, so the driver never holds the long frame's empty columns."""
        from pyspark.sql import functions as F

        frame = pl.from_arrow(self.frame.where(F.col("table") == name).select(*columns).toArrow())
        assert isinstance(frame, pl.DataFrame)
        return frame.cast({c: OUTPUT_SCHEMA[c] for c in columns})

    def collect(self) -> StitchResult:
        """The tables on the driver, as the one-machine `stitch` returns them, and the metrics
        of all groups together."""
        started = time.perf_counter()
        tables = {name: Held(self._collected(name, TABLE_COLUMNS[name])) for name in TABLES}
        metric_rows = self._collected(METRICS, ["metric", "metric_value"])
        persons = int(metric_rows.filter(pl.col("metric") == "persons")["metric_value"].sum())
        if tables["identity_map"].table["person_id"].n_unique() != persons:
            raise DuplicatePersonIds(
                "new person ids were derived in two groups at once; stitch this evidence on "
                "one machine (pipelines.identity.stitch)"
            )
        metrics = _metrics(metric_rows, self.identifiers_blocked)
        self.seconds["collect"] = round(time.perf_counter() - started, 3)
        metrics.update({f"seconds[spark:{step}]": value for step, value in self.seconds.items()})
        return StitchResult(tables=Tables(dict(tables)), metrics=metrics)


def _metrics(rows: pl.DataFrame, identifiers_blocked: int) -> dict[str, int | float]:
    """The groups' metrics together (see LARGEST)."""
    totals = rows.group_by("metric").agg(
        pl.col("metric_value").sum().alias("sum"), pl.col("metric_value").max().alias("max")
    )
    metrics: dict[str, int | float] = {}
    for name, total, largest in totals.sort("metric").iter_rows():
        metrics[name] = int(largest if name in LARGEST else total)
    anonymous = metrics.pop(ANONYMOUS_IDENTIFIERS, 0)
    never_linked = metrics.pop(ANONYMOUS_NEVER_LINKED, 0)
    metrics["anonymous_never_linked_share"] = (
        round(never_linked / anonymous, 6) if anonymous else 0.0
    )
    metrics["identifiers_blocked"] = identifiers_blocked
    metrics.setdefault("largest_cluster", 0)
    return metrics


def _node(tag: str, *columns: str) -> Column:
    """A 64-bit node id: `tag` keeps records, identifiers, accounts and persons apart."""
    from pyspark.sql import functions as F

    return F.xxhash64(F.lit(tag), *[F.col(c) for c in columns])


def stitch_spark(
    evidence: DataFrame,
    *,
    rules: IdentityRules,
    run_id: str,
    run_at: datetime,
    previous_map: DataFrame | None = None,
    erasures: pl.DataFrame | None = None,
    pseudonymize_key: Secret | None = None,
    buckets: int | None = None,
) -> SparkStitch:
    """`pipelines.identity.stitch.stitch` (full mode) on Spark: the same tables, person ids and
    merge history. `evidence` (contracts §5.2) and `previous_map` (last run's identity_map) are
    Spark DataFrames; the session's time zone must be UTC (`spark_session`). `buckets`: how
    many groups the components are dealt into (default `spark.sql.shuffle.partitions`); each
    group is one `stitch` call, so a group's evidence must fit one executor."""
    from pyspark.sql import functions as F

    from pipelines.spark.components import component_labels

    spark = evidence.sparkSession
    zone = spark.conf.get("spark.sql.session.timeZone")
    if zone != "UTC":
        raise ValueError(
            f"stitch_spark needs the session time zone UTC (spark.sql.session.timeZone is {zone})"
        )
    if run_at.tzinfo is not None:
        run_at = run_at.astimezone(UTC).replace(tzinfo=None)
    buckets = buckets or int(spark.conf.get("spark.sql.shuffle.partitions") or 4)
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal started
        now = time.perf_counter()
        seconds[step] = round(now - started, 3)
        started = now

    rows = evidence.select(
        *RECORD,
        F.col("observed_at").cast("timestamp_ntz").alias("observed_at"),
        "rule",
        "identifier_kind",
        "identifier_value",
        "is_anchor",
    ).withColumn("record_node", _node("record", *RECORD))
    distinct = rows.select(
        F.col("identifier_kind").alias("kind"), F.col("identifier_value").alias("raw_value")
    ).distinct()
    published = distinct.mapInArrow(
        partial(_published, rules, pseudonymize_key),
        "kind string, raw_value string, normalised string, value string, block_reason string",
    ).localCheckpoint()
    identifiers_blocked = (
        published.where(F.col("block_reason").isNotNull())
        .select("kind", "value")
        .distinct()
        .count()
    )
    lap("normalise_and_guard")

    # the graph: record - identifier, identifier - account value, identifier - previous person
    kept = published.where(F.col("block_reason").isNull()).select(
        "kind",
        "raw_value",
        "value",
        _node("identifier", "kind", "value").alias("identifier_node"),
        F.when(F.col("kind").isin(*ACCOUNT_LINK_KINDS), _node("account", "normalised")).alias(
            "account_node"
        ),
    )
    row_nodes = rows.select("record_node", "identifier_kind", "identifier_value").join(
        kept,
        (F.col("identifier_kind") == F.col("kind"))
        & (F.col("identifier_value") == F.col("raw_value")),
    )
    edges = row_nodes.select(
        F.col("record_node").alias("left"), F.col("identifier_node").alias("right")
    ).unionByName(
        kept.where(F.col("account_node").isNotNull()).select(
            F.col("identifier_node").alias("left"), F.col("account_node").alias("right")
        )
    )
    nodes = rows.select(F.col("record_node").alias("node"))
    previous_rows = None
    if previous_map is not None:
        previous_rows = previous_map.select(
            "identifier_kind",
            "identifier_value",
            "person_id",
            *[F.col(c).cast("timestamp_ntz").alias(c) for c in ("first_seen_at", "last_seen_at")],
        ).withColumn("identifier_node", _node("identifier", "identifier_kind", "identifier_value"))
        edges = edges.unionByName(
            previous_rows.select(
                F.col("identifier_node").alias("left"),
                _node("person", "person_id").alias("right"),
            )
        )
        nodes = nodes.unionByName(previous_rows.select(F.col("identifier_node").alias("node")))
    labels = component_labels(nodes, edges).localCheckpoint()
    lap("candidate_components")

    def bucket_of(node: str) -> DataFrame:
        return labels.select(
            F.col("node").alias(node),
            F.pmod(F.xxhash64("component"), F.lit(buckets)).alias("bucket"),
        )

    grouped_rows = rows.join(bucket_of("record_node"), on="record_node").drop("record_node")
    if previous_rows is None:
        grouped_previous = spark.createDataFrame(
            [], "bucket long, " + ", ".join(_ddl(c, t) for c, t in MAP_SCHEMA.items())
        )
    else:
        grouped_previous = previous_rows.join(
            bucket_of("identifier_node"), on="identifier_node"
        ).drop("identifier_node")
    options = _Options(rules, run_id, run_at, erasures, pseudonymize_key)
    output = (
        grouped_rows.groupBy("bucket")
        .cogroup(grouped_previous.groupBy("bucket"))
        .applyInArrow(
            partial(_stitch_group, options),
            ", ".join(_ddl(c, t) for c, t in OUTPUT_SCHEMA.items()),
        )
        .localCheckpoint()
    )
    lap("stitch_groups")
    return SparkStitch(output, identifiers_blocked, seconds)


def _ddl(column: str, dtype: pl.DataType) -> str:
    spark_type = {
        pl.String(): "string",
        pl.Datetime("us"): "timestamp_ntz",
        pl.Float64(): "double",
    }[dtype]
    return f"`{column}` {spark_type}"


def polars_to_spark(spark: SparkSession, frame: pl.DataFrame) -> DataFrame:
    """A Polars frame as a Spark DataFrame (naive timestamps as `timestamp_ntz`)."""
    return spark.createDataFrame(frame.to_arrow())


EVIDENCE_MODEL = "int_identity_evidence"


def stitch_warehouse(
    spark: SparkSession,
    warehouse_dir: Path,
    *,
    rules: IdentityRules,
    run_id: str,
    run_at: datetime,
    previous_map: pl.DataFrame | None = None,
    erasures: pl.DataFrame | None = None,
    pseudonymize_key: Secret | None = None,
    buckets: int | None = None,
) -> StitchResult:
    """The identity step of a `JOURNEY_ENGINE=spark` build: the evidence read from the Spark
    build's `intermediate.int_identity_evidence` table under `warehouse_dir`, stitched on Spark,
    the tables collected as the one-machine `stitch` returns them (the asset then writes and
    publishes them unchanged). `previous_map`: the published identity_map (stable ids)."""
    from pipelines.spark.tables import table_dir

    spark.conf.set("spark.sql.session.timeZone", "UTC")
    evidence = spark.read.parquet(str(table_dir(warehouse_dir, "intermediate", EVIDENCE_MODEL)))
    return stitch_spark(
        evidence,
        rules=rules,
        run_id=run_id,
        run_at=run_at,
        previous_map=None if previous_map is None else polars_to_spark(spark, previous_map),
        erasures=erasures,
        pseudonymize_key=pseudonymize_key,
        buckets=buckets,
    ).collect()
