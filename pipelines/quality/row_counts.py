"""Row counts of the previous run, kept in one small JSON state file, and the bounds they give.

State: `{data_dir}/state/quality_row_counts.json`, one entry per suite:
`{"rows": 1234, "days": 1, "run_id": "...", "full_refresh": false, "recorded_at": "..."}`.

Bounds (suite `meta.bounds_from_previous_run`): baseline = the previous run's rows (per
partition day × this run's days when `per_run_day`); min = baseline × min_ratio − slack_rows
(not below 0), max = baseline × max_ratio + slack_rows. Without a comparable previous run
(first run; a full refresh on either side of a per-day comparison) the check passes with
min 0 and says so.

Updating: a suite's count becomes the next baseline unless one of the suite's *blocking*
checks failed — a connector that suddenly lands nothing keeps failing every night until
someone looks, and a mart blocked for duplicated rows does not make the doubled count the
new normal. To accept a new volume on purpose, delete the suite's entry from the state file.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.quality.suites import RowCountBounds

STATE_FILE_NAME = "quality_row_counts.json"


@dataclass(frozen=True)
class Baseline:
    rows: int
    days: int
    run_id: str
    full_refresh: bool = False


@dataclass(frozen=True)
class ResolvedBounds:
    min_value: int
    max_value: int | None
    explanation: str


def read_baselines(path: Path) -> dict[str, Baseline]:
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as error:
        raise ValueError(
            f"row-count state {path} is not valid JSON ({error}); fix it or delete it "
            "(the next run then records fresh baselines)"
        ) from error
    return {
        name: Baseline(
            rows=int(entry["rows"]),
            days=max(int(entry.get("days", 1)), 1),
            run_id=str(entry.get("run_id", "")),
            full_refresh=bool(entry.get("full_refresh", False)),
        )
        for name, entry in raw.items()
    }


def resolve_bounds(
    bounds: RowCountBounds, previous: Baseline | None, *, days: int, full_refresh: bool
) -> ResolvedBounds:
    if previous is None:
        return ResolvedBounds(0, None, "no previous run recorded: nothing to compare with")
    if bounds.per_run_day and (full_refresh or previous.full_refresh):
        return ResolvedBounds(
            0, None, "a full refresh on either side: per-day row counts are not comparable"
        )
    if bounds.per_run_day:
        baseline = previous.rows / previous.days * max(days, 1)
        basis = (
            f"previous run {previous.run_id}: {previous.rows} rows over {previous.days} day(s), "
            f"scaled to {max(days, 1)} day(s) = {baseline:.1f}"
        )
    else:
        baseline = float(previous.rows)
        basis = f"previous run {previous.run_id}: {previous.rows} rows"
    low = 0
    if bounds.min_ratio is not None:
        low = max(0, math.floor(baseline * bounds.min_ratio) - bounds.slack_rows)
    high = None
    if bounds.max_ratio is not None:
        high = math.ceil(baseline * bounds.max_ratio) + bounds.slack_rows
    return ResolvedBounds(low, high, basis)


def record_baseline(
    path: Path, suite: str, *, rows: int, days: int, run_id: str, full_refresh: bool
) -> None:
    """Replace the suite's entry (atomic rewrite of the small state file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        state = {}
    state[suite] = {
        "rows": int(rows),
        "days": int(max(days, 1)),
        "run_id": run_id,
        "full_refresh": bool(full_refresh),
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    os.replace(temporary, path)
