"""The engine benchmark's reading of Spark's event log: tasks summed per model, and the fit."""

from __future__ import annotations

import json
from pathlib import Path

from bench.spark_event_log import OTHER, ModelCost, fit, model_costs

CTAS = (
    "== Physical Plan ==\nExecute CreateDataSourceTableAsSelectCommand (1)\n\n"
    "(2) CreateDataSourceTableAsSelectCommand\n"
    "Arguments: `spark_catalog`.`marts`.`fct_orders`, ErrorIfExists, [order_id]\n"
)
INSERT = (
    "(4) Execute InsertIntoHadoopFsRelationCommand\nInput: []\n"
    "Arguments: file:/tmp/spark/warehouse/intermediate.db/int_touchpoints, false, Parquet\n"
)


def _task(stage: int, run_ms: int, records: int, shuffled: int, memory: int) -> dict:
    return {
        "Event": "SparkListenerTaskEnd",
        "Stage ID": stage,
        "Task Metrics": {
            "Executor Run Time": run_ms,
            "Executor CPU Time": run_ms * 500_000,
            "Peak Execution Memory": memory,
            "Input Metrics": {"Records Read": records},
            "Shuffle Read Metrics": {"Total Records Read": shuffled},
            "Output Metrics": {"Records Written": records},
        },
    }


def _execution(execution: int, root: int, plan: str) -> dict:
    return {
        "Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart",
        "executionId": execution,
        "rootExecutionId": root,
        "physicalPlanDescription": plan,
    }


def _job(stages: list[int], execution: int | None) -> dict:
    properties = {} if execution is None else {"spark.sql.execution.id": str(execution)}
    return {"Event": "SparkListenerJobStart", "Stage IDs": stages, "Properties": properties}


def test_tasks_are_summed_per_model_written_by_the_root_statement(tmp_path: Path):
    events = [
        _execution(0, 0, CTAS),
        _execution(1, 0, "== Physical Plan ==\nScan parquet\n"),  # the CTAS's own write
        _job([0, 1], 1),
        _task(0, 100, 1_000, 0, 10),
        _task(1, 300, 0, 2_000, 30),
        _execution(2, 2, INSERT),
        _job([2], 2),
        _task(2, 50, 500, 0, 5),
        _job([3], None),  # a catalog listing, outside any statement
        _task(3, 7, 0, 0, 0),
    ]
    log = tmp_path / "events" / "local-1"
    log.parent.mkdir()
    log.write_text("".join(json.dumps(event) + "\n" for event in events))
    (tmp_path / "events" / ".local-1.crc").write_text("not json")

    assert model_costs(tmp_path / "events") == {
        "marts.fct_orders": ModelCost(2, 400, 200.0, 3_000, 1_000, 30),
        "intermediate.int_touchpoints": ModelCost(1, 50, 25.0, 500, 500, 5),
        OTHER: ModelCost(1, 7, 3.5, 0, 0, 0),
    }


def test_fit_is_the_line_through_two_sizes_and_never_decreases():
    line = fit(ModelCost(tasks=4, run_ms=1_000, records_read=1_000_000),
               ModelCost(tasks=4, run_ms=3_000, records_read=11_000_000))  # fmt: skip
    assert (line.fixed_ms, line.per_million_ms) == (800.0, 200.0)
    assert line.at(101_000_000) == 21_000.0
    flat = fit(ModelCost(run_ms=900, records_read=10), ModelCost(run_ms=800, records_read=1_000))
    assert (flat.fixed_ms, flat.per_million_ms) == (900.0, 0.0)
