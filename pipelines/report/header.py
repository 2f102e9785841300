"""The page header: what the page covers, how fresh the data is, and how far to trust it."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from pipelines.report.page import esc, table_html
from pipelines.report.period import Period
from pipelines.report.trust import DATA_RANGE, DataRange, RunFacts


def _when(value) -> str:
    return "–" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


def freshness_html(data: DataRange) -> str:
    rows = [
        (source, f"{touchpoints:,}", _when(last_at))
        for source, touchpoints, last_at in data.per_source.select(
            "source", "touchpoints", "last_at"
        ).iter_rows()
    ]
    persons = "–" if data.persons is None else f"{data.persons:,}"
    return (
        '<div class="fact" id="freshness"><h3>Data</h3>'
        f"<div>from <b>{_when(data.first_at)}</b> to <b>{_when(data.last_at)}</b>; "
        f"{persons} persons</div>"
        + table_html(["source", "touchpoints", "latest touchpoint"], rows, {1})
        + f'<div class="muted">source: {esc(DATA_RANGE.text())}</div></div>'
    )


def _started(text: str | None) -> str:
    try:
        return _when(datetime.fromisoformat(text)) if text else "–"
    except ValueError:
        return text or "–"


def run_html(facts: RunFacts) -> str:
    origin = f'<div class="muted">run facts from: {esc(facts.origin)}</div>'
    notes = "".join(f'<div class="error">{esc(note)}</div>' for note in facts.notes)
    if not facts.run:
        return f'<div class="fact" id="run"><h3>Run</h3>{notes}{origin}</div>'
    run = facts.run
    checks = run.get("checks", {})
    status = run.get("status")
    state = "running when this page was written" if status == "STARTED" else str(status).lower()
    published = "published" if run.get("published") else "NOT published"
    partitions = run.get("partitions", {})
    warning_rows = [
        (f"{item.get('asset')} / {item.get('check')}", _observed(item.get("metadata", {})))
        for item in facts.warnings()
    ]
    warned = (
        table_html(["check that warned", "failed rows / observed"], warning_rows, {1})
        if warning_rows
        else "<div>no check warned</div>"
    )
    return (
        '<div class="fact" id="run"><h3>Run</h3>'
        f"<div>run <code>{esc(run.get('run_id'))}</code>: {esc(state)}, {published}; started "
        f"{esc(_started(run.get('started_at')))}, data days {esc(partitions.get('start'))} .. "
        f"{esc(partitions.get('end'))}</div>"
        f"<div>checks: <b>{checks.get('passed', 0)}</b> passed, <b>{checks.get('warned', 0)}</b> "
        f"warned, <b>{checks.get('failed', 0)}</b> failed</div>{warned}{notes}{origin}</div>"
    )


def _observed(metadata: dict) -> str:
    return str(metadata.get("failed_rows", metadata.get("observed", "")))


def quarantine_html(facts: RunFacts) -> str:
    frame = facts.quarantine()
    if frame.is_empty():
        return (
            '<div class="fact" id="quarantine"><h3>Quarantine</h3>'
            '<div class="muted">no landing figures in the run report</div></div>'
        )
    received = frame.filter((pl.col("records") + pl.col("quarantined")) > 0)
    rows = [
        (f"{source}/{stream}", f"{records:,}", f"{quarantined:,}", f"{100 * share:.2f} %")
        for source, stream, records, quarantined, share in received.select(
            "source", "stream", "records", "quarantined", "quarantined_share"
        ).iter_rows()
    ]
    idle = frame.filter((pl.col("records") + pl.col("quarantined")) == 0)
    nothing = (
        f'<div class="muted">nothing landed this run: '
        f"{esc(', '.join(idle['source'] + '/' + idle['stream']))}</div>"
        if idle.height
        else ""
    )
    return (
        '<div class="fact" id="quarantine"><h3>Quarantined share per stream (this run)</h3>'
        + table_html(["stream", "landed", "quarantined", "share"], rows, {1, 2, 3})
        + nothing
        + "</div>"
    )


def period_text(period: Period | None) -> str:
    if period is None:
        return "no period: the warehouse holds no touchpoints yet"
    return (
        f"{period.label} ({period.days} days), compared with the previous {period.days} days "
        f"{period.previous.label}"
    )


def header_html(title: str, covers: str, data: DataRange, facts: RunFacts, notes: list[str]) -> str:
    warnings = (
        '<div class="notes">' + "".join(f"<div>{esc(note)}</div>" for note in notes) + "</div>"
        if notes
        else ""
    )
    return (
        f"<header><h1>{esc(title)}</h1><div>{esc(covers)}</div>{warnings}"
        f'<div class="facts">{freshness_html(data)}{run_html(facts)}{quarantine_html(facts)}</div>'
        "</header>"
    )
