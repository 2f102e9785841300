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

from pipelines.report import attribution, figures, flows, support
from pipelines.report.header import header_html, period_text
from pipelines.report.image import write_png
from pipelines.report.journey_map import REQUIRED as MAP_REQUIRED
from pipelines.report.journey_map import journey_map
from pipelines.report.kpis import missing_kpi_sources
from pipelines.report.page import Chart, Footnotes, Section, esc, map_html, page_html, section_html
from pipelines.report.period import Period, choose_period, months_frame, windows_frame
from pipelines.report.person import person_journey
from pipelines.report.person_page import person_body
from pipelines.report.phases import Phases, load_phases
from pipelines.report.reader import Evidence, PublishedWarehouse
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


def _chart(
    warehouse: PublishedWarehouse,
    name: str,
    needed: tuple[Evidence, ...],
    draw,
    caption: str,
    empty: str,
    notes: list[str],
    wide: bool = False,
) -> Chart:
    """A chart whose marts are checked first: a missing mart or column gives a note."""
    problems = warehouse.missing(needed)
    if problems:
        notes.extend(problems)
        return Chart(name, None, caption, f"Not shown: {'; '.join(problems)}.", wide)
    return Chart(name, draw(), caption, empty, wide)


def _sources(*items: Evidence) -> str:
    return "Source: " + "; ".join(item.text() for item in items) + "."


def flow_section(
    warehouse: PublishedWarehouse, phases: Phases, period: Period, notes: list[str]
) -> Section:
    window = f"first-touch cohort months {period.months_label()}"
    charts = [
        _chart(
            warehouse, "transitions", (flows.TRANSITIONS, phases.source),
            lambda: figures.transitions_sankey(flows.transitions(warehouse), phases, flows.TRANSITIONS),
            "Each spell entered in the period flows to the phase entered next: a later phase, a "
            "re-entry (↺, the same or an earlier phase after a lapse of journey_lapse_days) or "
            "none yet. " + _sources(flows.TRANSITIONS, phases.source),
            "No phase spell was entered in the period.", notes, wide=True,
        ),
        _chart(
            warehouse, "funnels", (flows.FUNNEL,),
            lambda: figures.channel_funnels(flows.channel_funnels(warehouse), flows.FUNNEL, window),
            f"Persons first touched in the {window}, by the channel of their first touchpoint, "
            f"through the web funnel (the {flows.FUNNEL_CHANNELS} channels with most visitors). "
            + _sources(flows.FUNNEL),
            "No persons were first touched in these months.", notes,
        ),
        _chart(
            warehouse, "time_to_first_order", (flows.TIME_TO_ORDER,),
            lambda: figures.time_to_first_order(flows.time_to_first_order(warehouse), flows.TIME_TO_ORDER),
            "Persons whose first order fell in the period (and in the previous one), by days from "
            "their first touchpoint to that order. " + _sources(flows.TIME_TO_ORDER),
            "No first order in the period.", notes,
        ),
        _chart(
            warehouse, "paths", (flows.PATHS,),
            lambda: figures.top_paths(flows.top_paths(warehouse), flows.PATHS),
            "The sequences of session entry channels before an order (consecutive repeats shown "
            "once), over all orders: the mart has no date. " + _sources(flows.PATHS),
            "No order has a channel path yet.", notes, wide=True,
        ),
    ]  # fmt: skip
    return Section("Flows", "flows", charts=charts, columns=2)


def attribution_section(warehouse: PublishedWarehouse, notes: list[str]) -> Section:
    revenue = None
    if not warehouse.missing([attribution.ATTRIBUTION]):
        revenue = attribution.revenue_by_model(warehouse)
    chart = _chart(
        warehouse, "attribution", (attribution.ATTRIBUTION,),
        lambda: figures.attribution_revenue(revenue, attribution.ATTRIBUTION),
        "Revenue of the orders placed in the period, credited to the channels of the sessions "
        "before each order under every model; each model splits the same revenue. "
        + _sources(attribution.ATTRIBUTION),
        "No order was placed in the period.", notes,
    )  # fmt: skip
    extra = ""
    if revenue is not None and not revenue.is_empty():
        lines = attribution.explanations(revenue)
        items = "".join(f"<li>{esc(line)}</li>" for line in lines["line"].to_list())
        extra = f"<h3>How the models differ</h3><ul>{items}</ul>"
    return Section("Attribution", "attribution", charts=[chart], extra_html=extra)


def support_section(
    warehouse: PublishedWarehouse, phases: Phases, notes: list[str], days: int
) -> Section:
    tickets = None
    if not warehouse.missing([support.TICKETS]):
        tickets = support.ticket_figures(warehouse)
    repurchase_sources = (support.REPURCHASE_TICKETS, support.REPURCHASE_ORDERS, support.DATA_END)
    charts = [
        _chart(
            warehouse, "tickets", (support.TICKETS,),
            lambda: figures.tickets_by_phase(tickets, phases, support.TICKETS),
            "Tickets raised in the period by the phase the requester was in, and the median time "
            "to the first reply. " + _sources(support.TICKETS),
            "No ticket was raised in the period.", notes,
        ),
        _chart(
            warehouse, "satisfaction", (support.TICKETS,),
            lambda: figures.satisfaction_by_phase(tickets, phases, support.TICKETS),
            "CSAT (good of rated) of the period's tickets, per phase at the ticket. "
            + _sources(support.TICKETS),
            "No ticket raised in the period has been rated yet.", notes,
        ),
        _chart(
            warehouse, "repurchase", repurchase_sources,
            lambda: figures.repurchase(
                support.repurchase_after_ticket(warehouse, days), repurchase_sources, days
            ),
            f"Share of customers' tickets, and of orders not followed by a ticket within {days} "
            f"days, that were followed by an order within {days} days (repurchase_window_days); "
            f"all events whose {days}-day window had passed by the data's end, not only the "
            "period's. " + _sources(*repurchase_sources),
            f"No ticket or order is older than {days} days yet.", notes,
        ),
    ]  # fmt: skip
    return Section("Support in the journey", "support", charts=charts, columns=2)


def _journey_body(
    warehouse: PublishedWarehouse, period: Period, notes: list[str], repurchase_days: int
) -> tuple[str, str]:
    """The page's body, and the map section alone (for the PNG)."""
    phases = load_phases(warehouse)
    if phases.source.table != "dim_journey_phases":
        notes.append(
            "marts.dim_journey_phases is not in the warehouse: the phases are the ones its "
            "spells name (a configured phase nobody reached is missing)"
        )
    warehouse.register("report_windows", windows_frame(period))
    warehouse.register("report_months", months_frame(period))
    warehouse.register("report_phases", phases.frame.select("phase", "phase_rank"))
    notes.extend(f"KPI not shown: {problem}" for problem in missing_kpi_sources(warehouse))
    columns = journey_map(warehouse, phases, period)
    colours = {phase: figures.phase_colour(phases, phase) for phase in phases.names}
    subtitle = (
        f"{period.label}, each figure against {period.previous.label}. One column per configured "
        "phase (seed journey_phases)."
    )
    the_map = map_html(columns, colours, "The journey map", subtitle, Footnotes())
    parts = [
        the_map,
        section_html(flow_section(warehouse, phases, period, notes)),
        section_html(attribution_section(warehouse, notes)),
        section_html(support_section(warehouse, phases, notes, repurchase_days)),
    ]
    return "".join(parts), the_map


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
            body, the_map = _journey_body(warehouse, period, notes, days)
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
