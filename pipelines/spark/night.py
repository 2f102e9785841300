"""Whether a Spark night's dbt invocation may build incrementally, or must rebuild every table.

A DuckDB night builds in a copy of the published file: a night that fails leaves nothing
behind. Spark's tables are rewritten in place (`<JOURNEY_BUILD_DIR>/spark/warehouse`), model by
model: a night that fails part-way leaves some models a night ahead of the models they feed,
the record states' kept copy ahead of the marts it drives, or buckets that a pre-hook dropped
before its overwrite failed (docs/scale-out.md, "Incremental nights on Spark"). An incremental
night on top of that would carry the damage into every later night.

So a Spark night keeps a marker file in the Spark folder from the start of its first dbt
invocation until its second one has succeeded and been copied out. A dbt invocation that finds
the marker of a night that did not get that far — an earlier run's, or this run's own retried
step — rebuilds every table (`--full-refresh`), and says why. Pure logic on one JSON file: no
Dagster, no Spark.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

MARKER = "unfinished_night.json"
FIRST, SECOND = "dbt 1/2", "dbt 2/2"


@dataclass(frozen=True)
class Invocation:
    full_refresh: bool
    reason: str | None = None
    """Why a full refresh was forced (None when it was asked for, or is not needed)."""


def _read(spark_dir: Path) -> dict | None:
    path = spark_dir / MARKER
    return json.loads(path.read_text()) if path.exists() else None


def _write(spark_dir: Path, marker: dict) -> None:
    spark_dir.mkdir(parents=True, exist_ok=True)
    temporary = spark_dir / f"{MARKER}.tmp"
    temporary.write_text(json.dumps(marker))
    temporary.replace(spark_dir / MARKER)


def start(spark_dir: Path, run_id: str, *, first: bool, requested: bool) -> Invocation:
    """Record that `run_id`'s first (or second) dbt invocation starts; whether it must run with
    `--full-refresh`: when asked (`requested`), when the night's first invocation already did,
    or when a marker shows a night that did not finish."""
    previous = _read(spark_dir)
    stage = FIRST if first else SECOND
    continuing = (
        not first
        and previous is not None
        and previous["run_id"] == run_id
        and previous["stage"] == FIRST
        and previous["done"]
    )
    if previous is None or continuing:
        full = requested or bool(continuing and previous and previous["full_refresh"])
        reason = None
    else:
        full = True
        state = "finished" if previous["done"] else "started and did not finish"
        reason = (
            f"the Spark night of run {previous['run_id']} stopped after its {previous['stage']} "
            f"{state}: its tables may be part-way between two nights, so this {stage} "
            "rebuilds every Spark table (--full-refresh)"
        )
    _write(spark_dir, {"run_id": run_id, "stage": stage, "done": False, "full_refresh": full})
    return Invocation(full, reason)


def succeeded(spark_dir: Path, run_id: str, *, first: bool) -> None:
    """The invocation `start` recorded succeeded: after the second (its tables copied out), the
    night is finished and the marker removed."""
    if not first:
        (spark_dir / MARKER).unlink(missing_ok=True)
        return
    marker = _read(spark_dir)
    if marker is not None and marker["run_id"] == run_id and marker["stage"] == FIRST:
        _write(spark_dir, {**marker, "done": True})
