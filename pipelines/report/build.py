"""Build the journey report (or one person's journey) from the published warehouse.

`build_report` writes one self-contained HTML file and, when a Chromium is available, a PNG
of the map beside it (`<name>.map.png`). `build_person_report` writes the timeline of one
person. Both open the warehouse read-only and never write to it; the files are written to a
temporary name and renamed, so a reader never sees half a page.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from pipelines.report.header import header_html, period_text
from pipelines.report.image import write_png
from pipelines.report.journey_map import REQUIRED as MAP_REQUIRED
from pipelines.report.page import page_html
from pipelines.report.period import Period, choose_period
from pipelines.report.person import person_journey
from pipelines.report.person_page import person_body
from pipelines.report.phases import load_phases
from pipelines.report.reader import PublishedWarehouse
from pipelines.report.sections import journey_body
from pipelines.report.trust import DATA_RANGE, RunFacts, data_range
from pipelines.settings import DBT_PROJECT_DIR

DEFAULT_REPURCHASE_DAYS = 90
REPORT_FILE = "journey_report.html"


@dataclass
class ReportResult:
    html_path: Path
    period: Period | None
    seconds: float
    image_path: Path | None = None
    image_note: str | None = None
    image_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def project_var(name: str, default: int) -> int:
    """A business rule the marts were built with (a dbt var in dbt_project.yml)."""
    try:
        project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
        return int(project.get("vars", {}).get(name, default))
    except (OSError, ValueError, TypeError, yaml.YAMLError):
        return default


def default_output(
    report_dir: Path, first_day: date | None, last_day: date | None, person: str | None
) -> Path:
    """Where the CLI writes: the nightly report's path, unless a period or a person is given."""
    if person:
        return report_dir / f"person_{re.sub(r'[^A-Za-z0-9_-]', '_', person)}.html"
    if first_day or last_day:
        return report_dir / f"journey_report_{first_day or 'start'}_{last_day or 'end'}.html"
    return report_dir / REPORT_FILE


def image_path_for(html_path: Path) -> Path:
    return html_path.with_suffix(".map.png")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def build_report(
    warehouse_path: Path,
    out: Path,
    *,
    facts: RunFacts,
    first_day: date | None = None,
    last_day: date | None = None,
    image: bool = True,
    browser: str | None = None,
    repurchase_days: int | None = None,
) -> ReportResult:
    """The journey report of `warehouse_path` for the period (default: the last 30 days of
    data) written to `out`, and its map as `<out>.map.png` when `image`."""
    started = time.perf_counter()
    days = repurchase_days or project_var("repurchase_window_days", DEFAULT_REPURCHASE_DAYS)
    notes: list[str] = []
    the_map = None
    with PublishedWarehouse(warehouse_path) as warehouse:
        warehouse.require((*MAP_REQUIRED, DATA_RANGE))
        data = data_range(warehouse)
        period = None
        if data.is_empty and first_day is None and last_day is None:
            body = (
                '<p class="empty" id="no-data">The warehouse holds no touchpoints yet: there is no '
                "journey to map. The next nightly run that lands data fills this page.</p>"
            )
        else:
            period = choose_period(
                data.last_at.date() if data.last_at else None, first_day, last_day
            )
            body, the_map = journey_body(warehouse, period, notes, days)
        title = "Journey report" + (f" · {period.label}" if period else "")
        text = page_html(title, header_html(title, period_text(period), data, facts, notes), body)
    _write(out, text)
    result = ReportResult(out, period, time.perf_counter() - started, notes=notes)
    if image and the_map is not None:
        image_started = time.perf_counter()
        # The map alone, without Plotly: the browser draws it in about a second.
        map_page = out.with_name(f".{out.stem}.map.tmp.html")
        _write(map_page, page_html(title, "", the_map, charts=False))
        try:
            png = write_png(map_page, image_path_for(out), browser=browser)
        finally:
            map_page.unlink(missing_ok=True)
        result.image_path, result.image_note = png.path, png.reason
        result.image_seconds = time.perf_counter() - image_started
    return result


def build_person_report(
    warehouse_path: Path, out: Path, person_id: str, *, facts: RunFacts
) -> ReportResult:
    started = time.perf_counter()
    with PublishedWarehouse(warehouse_path) as warehouse:
        journey = person_journey(warehouse, person_id)
        phases = load_phases(warehouse)
        data = data_range(warehouse)
        title = f"Journey of person {person_id}"
        covers = "every touchpoint, phase spell and identity link of one person, as published"
        header = header_html(title, covers, data, facts, [])
        text = page_html(title, header, person_body(journey, phases))
    _write(out, text)
    return ReportResult(out, None, time.perf_counter() - started)
