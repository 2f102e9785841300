"""Freshness and trust for the page header: the data's date range (from the warehouse) and
the run-level facts — the run that produced the warehouse, the checks that warned, the share
of records quarantined per stream — from that run's report (`pipelines.run_report`).

The nightly asset hands over the report of its own run (`collect_run_report` on the Dagster
instance); the CLI reads the newest run report on disk that published (`latest.json`, or the
newest `<date>/<run id>.json` with `published: true` when the latest run did not publish).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.report.reader import PublishedWarehouse, evidence

DATA_RANGE = evidence("fct_touchpoints", "occurred_at", "source")
PERSONS = evidence("dim_persons", "person_id")


@dataclass
class DataRange:
    first_at: datetime | None
    last_at: datetime | None
    persons: int | None
    per_source: pl.DataFrame
    """source, touchpoints, last_at."""

    @property
    def is_empty(self) -> bool:
        return self.last_at is None


def data_range(warehouse: PublishedWarehouse) -> DataRange:
    per_source = warehouse.frame(
        """
        select source, count(*) as touchpoints, min(occurred_at) as first_at,
            max(occurred_at) as last_at
        from marts.fct_touchpoints
        group by source
        order by source
        """
    )
    persons = None
    if not warehouse.missing([PERSONS]):
        persons = warehouse.frame("select count(*) as persons from marts.dim_persons")["persons"][0]
    if per_source.is_empty():
        return DataRange(None, None, persons, per_source)
    return DataRange(per_source["first_at"].min(), per_source["last_at"].max(), persons, per_source)


@dataclass
class RunFacts:
    origin: str
    """Where the facts come from, as the page states it."""
    run: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def run_id(self) -> str | None:
        return self.run.get("run_id") if self.run else None

    def warnings(self) -> list[dict[str, Any]]:
        if not self.run:
            return []
        return list(self.run.get("checks", {}).get("warnings", []))

    def quarantine(self) -> pl.DataFrame:
        """source, stream, records, quarantined, quarantined_share (of what the run received)."""
        schema = {
            "source": pl.String,
            "stream": pl.String,
            "records": pl.Int64,
            "quarantined": pl.Int64,
        }
        rows = [
            {
                "source": item.get("source"),
                "stream": item.get("stream"),
                "records": int(item.get("records") or 0),
                "quarantined": int(item.get("quarantined") or 0),
            }
            for item in (self.run or {}).get("landing", [])
        ]
        frame = pl.DataFrame(rows, schema=schema)
        received = pl.col("records") + pl.col("quarantined")
        return frame.with_columns(
            pl.when(received > 0)
            .then(pl.col("quarantined") / received)
            .otherwise(None)
            .alias("quarantined_share")
        ).sort("source", "stream")


def facts_from_run(report: dict[str, Any], origin: str) -> RunFacts:
    return RunFacts(origin=origin, run=report)


def facts_from_disk(report_dir: Path) -> RunFacts:
    """The newest run report on disk of a run that published; what it is is stated."""
    latest = report_dir / "latest.json"
    if not latest.exists():
        return RunFacts(
            origin=f"no run report found in {report_dir}",
            notes=["run-level facts (checks, quarantine) are unknown: no run report on disk"],
        )
    try:
        report = json.loads(latest.read_text())
    except (OSError, json.JSONDecodeError) as error:
        return RunFacts(origin=str(latest), notes=[f"{latest} is unreadable: {error}"])
    if report.get("published"):
        return RunFacts(origin=str(latest), run=report)
    notes = [
        f"the latest run {report.get('run_id')} did not publish "
        f"({report.get('publish', {}).get('reason', 'no reason recorded')})"
    ]
    for path in sorted(report_dir.glob("*/*.json"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            candidate = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if candidate.get("published"):
            return RunFacts(origin=str(path), run=candidate, notes=notes)
    return RunFacts(origin=str(latest), notes=[*notes, "no earlier run report of a publish"])
