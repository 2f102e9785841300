"""The report's sections below the header: the map, flows, attribution and support — which
charts, drawn from which query, with which caption, and what to say when there is nothing.

Every chart's marts are checked before its query runs (`_chart`): a mart or column the file
lacks becomes a note naming it, and the rest of the page still renders.
"""

from __future__ import annotations

from pipelines.report import attribution, figures, flows, support
from pipelines.report.journey_map import journey_map
from pipelines.report.kpis import missing_kpi_sources
from pipelines.report.page import Chart, Footnotes, Section, esc, map_html, section_html
from pipelines.report.period import Period, months_frame, windows_frame
from pipelines.report.phases import Phases, load_phases
from pipelines.report.reader import Evidence, PublishedWarehouse


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


def journey_body(
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
