"""Spark's own task metrics, per dbt model, from the event log (`spark.eventLog.enabled`).

`event_log_conf(folder)` writes a `spark-defaults.conf` that turns the event log on (plain JSON
lines, no compression) into `folder/events`; a Spark driver started with `SPARK_CONF_DIR`
pointing at `folder` (dbt-spark's session, the tests' harness) writes one log per application.
`model_costs(events_dir)` reads every log there and sums, per model (the table its SQL statement
writes: `CreateDataSourceTableAsSelectCommand` / `InsertIntoHadoopFsRelationCommand` of the
statement's root execution), the tasks (= partitions processed), their executor run time and CPU
time, the records they read (input + shuffle) and wrote, and the peak execution memory of one
task. Tasks outside any SQL statement of a model (catalog listings) are summed under `(other)`.
`fit` turns the figures of one model at two sizes into cost = fixed + per-record × records.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

OTHER = "(other)"
_TARGETS = (
    re.compile(r"CreateDataSourceTableAsSelectCommand\nArguments: `[^`]+`\.`([^`]+)`\.`([^`]+)`"),
    re.compile(r"InsertIntoHadoopFsRelationCommand\nInput: \[\]\nArguments: \S+/([^/,]+)\.db/([^/,]+)"),
)  # fmt: skip


def event_log_conf(folder: Path) -> Path:
    """`folder/spark-defaults.conf` enabling the event log into `folder/events`; returns that
    events folder (set `SPARK_CONF_DIR=folder` for the Spark driver)."""
    events = folder.absolute() / "events"
    events.mkdir(parents=True, exist_ok=True)
    (folder / "spark-defaults.conf").write_text(
        "spark.eventLog.enabled true\n"
        f"spark.eventLog.dir file://{events}\n"
        "spark.eventLog.compress false\n"
        "spark.eventLog.rolling.enabled false\n"
    )
    return events


@dataclass
class ModelCost:
    tasks: int = 0
    run_ms: int = 0
    cpu_ms: float = 0.0
    records_read: int = 0
    records_written: int = 0
    peak_task_memory: int = 0

    def add(self, metrics: dict) -> None:
        self.tasks += 1
        self.run_ms += metrics["Executor Run Time"]
        self.cpu_ms += metrics["Executor CPU Time"] / 1e6
        self.records_read += (
            metrics["Input Metrics"]["Records Read"]
            + metrics["Shuffle Read Metrics"]["Total Records Read"]
        )
        self.records_written += metrics["Output Metrics"]["Records Written"]
        self.peak_task_memory = max(self.peak_task_memory, metrics["Peak Execution Memory"])


def _target(plan: str) -> str | None:
    for pattern in _TARGETS:
        if found := pattern.search(plan):
            return f"{found.group(1)}.{found.group(2)}"
    return None


def model_costs(events_dir: Path) -> dict[str, ModelCost]:
    """Task metrics per model (`schema.table`) over every application logged in `events_dir`."""
    costs: dict[str, ModelCost] = defaultdict(ModelCost)
    for log in sorted(p for p in events_dir.rglob("*") if p.is_file() and "." not in p.name):
        root_of: dict[str, str] = {}  # execution id -> root execution id
        model_of: dict[str, str] = {}  # root execution id -> model
        stage_model: dict[int, str] = {}
        with log.open() as lines:
            for line in lines:
                event = json.loads(line)
                kind = event["Event"]
                if kind.endswith("SparkListenerSQLExecutionStart"):
                    execution, root = str(event["executionId"]), str(event["rootExecutionId"])
                    root_of[execution] = root
                    if root not in model_of and (
                        target := _target(event["physicalPlanDescription"])
                    ):
                        model_of[root] = target
                elif kind == "SparkListenerJobStart":
                    execution = (event.get("Properties") or {}).get("spark.sql.execution.id")
                    root = root_of.get(str(execution), str(execution))
                    for stage in event["Stage IDs"]:
                        stage_model[stage] = model_of.get(root, OTHER)
                elif kind == "SparkListenerTaskEnd" and event.get("Task Metrics"):
                    costs[stage_model.get(event["Stage ID"], OTHER)].add(event["Task Metrics"])
    return dict(costs)


@dataclass
class Fit:
    """Executor milliseconds = fixed_ms + per_million_ms × (records read / 1e6)."""

    fixed_ms: float
    per_million_ms: float

    def at(self, records: float) -> float:
        return self.fixed_ms + self.per_million_ms * records / 1e6


def fit(small: ModelCost, large: ModelCost, metric: str = "run_ms") -> Fit:
    """The line through one model's (records read, `metric`: `run_ms` or `cpu_ms`) at two
    sizes; the slope is never negative (a model whose time did not grow with its input is all
    fixed cost)."""
    small_ms, large_ms = getattr(small, metric), getattr(large, metric)
    records = large.records_read - small.records_read
    slope = max(large_ms - small_ms, 0) / records * 1e6 if records > 0 else 0.0
    return Fit(max(small_ms - slope * small.records_read / 1e6, 0.0), slope)
