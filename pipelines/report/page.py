"""Assemble the self-contained HTML page: one file, every script and style inlined.

Plotly's JavaScript is inlined once in the head (`plotly.offline.get_plotlyjs`); each chart is
a `<div>` drawn by it. Nothing refers to a URL, so the page opens from a file share or an
e-mail attachment without network. Map cells carry their raw numbers in `data-*` attributes
(`data-phase`, `data-metric`, `data-value`, `data-previous`), so tools and tests can read
exactly what is shown.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from pipelines.report.compare import Measure, format_value, is_missing
from pipelines.report.journey_map import PhaseColumn

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

STYLE = """
:root { --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --accent: #2563eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
       background: #f9fafb; }
main { max-width: 1440px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 6px; }
h3 { font-size: 15px; margin: 18px 0 8px; }
.muted, figcaption, .footnotes { color: var(--muted); font-size: 12px; }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 12px;
         margin-top: 14px; }
.fact { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.fact h3 { margin: 0 0 6px; font-size: 13px; text-transform: uppercase; letter-spacing: .04em;
           color: var(--muted); }
.notes { background: #fffbeb; border: 1px solid #fcd34d; border-radius: 8px; padding: 8px 14px;
         margin-top: 12px; }
.error { color: #b91c1c; }
table { border-collapse: collapse; width: 100%; font-size: 12px; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
#journey-map { background: white; border: 1px solid var(--line); border-radius: 10px; padding: 16px;
               margin-top: 18px; }
#journey-map h2 { margin-top: 0; }
.map { display: grid; gap: 10px; }
.phase { border-radius: 8px; border: 1px solid var(--line); background: #fff; overflow: hidden; }
.phase header { padding: 8px 10px; color: white; font-weight: 600; font-size: 15px; }
.phase header small { display: block; font-weight: 400; opacity: .9; font-size: 11px; }
.phase section { padding: 6px 8px 8px; border-top: 1px solid var(--line); }
.phase section h4 { margin: 2px 0 4px; font-size: 11px; text-transform: uppercase;
                    letter-spacing: .04em; color: var(--muted); }
.cell { display: grid; grid-template-columns: 1fr auto; column-gap: 6px; border-radius: 6px;
        padding: 4px 6px; margin: 3px 0; cursor: help; }
.cell .label { font-size: 12px; }
.cell .value { font-weight: 650; text-align: right; font-variant-numeric: tabular-nums; }
.cell .delta { grid-column: 2; text-align: right; font-size: 11px; color: #374151;
               font-variant-numeric: tabular-nums; }
.cell sup { color: var(--muted); font-size: 9px; }
.legend { display: flex; gap: 14px; flex-wrap: wrap; margin: 12px 0 4px; font-size: 12px; }
.swatch { display: inline-block; width: 14px; height: 14px; border-radius: 3px; vertical-align: -2px;
          margin-right: 4px; }
figure { margin: 10px 0 22px; background: white; border: 1px solid var(--line); border-radius: 8px;
         padding: 8px 10px; }
.two { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 12px; }
.two > * { min-width: 0; }
.empty { background: white; border: 1px dashed var(--line); border-radius: 8px; padding: 14px;
         color: var(--muted); }
ol.footnotes { padding-left: 20px; margin: 10px 0 0; }
"""


@dataclass
class Chart:
    """One chart slot: the figure (or why there is none) and its caption."""

    name: str
    figure: go.Figure | None
    caption: str
    empty: str = "Nothing to show for the period."
    wide: bool = False
    """Spans every column of a two-column section."""


@dataclass
class Section:
    title: str
    anchor: str
    intro: str = ""
    charts: list[Chart] = field(default_factory=list)
    extra_html: str = ""
    columns: int = 1


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def chart_html(chart: Chart) -> str:
    caption = f"<figcaption>{esc(chart.caption)}</figcaption>"
    span = ' style="grid-column: 1 / -1"' if chart.wide else ""
    if chart.figure is None:
        return (
            f'<div class="empty" data-empty-chart="{esc(chart.name)}"{span}>{esc(chart.empty)}'
            f"{caption}</div>"
        )
    body = pio.to_html(
        chart.figure,
        full_html=False,
        include_plotlyjs=False,
        config=PLOTLY_CONFIG,
        div_id=f"chart-{chart.name}",
    )
    return (
        f'<figure{span}><div class="chart" data-chart="{esc(chart.name)}">{body}</div>'
        f"{caption}</figure>"
    )


def section_html(section: Section) -> str:
    charts = "".join(chart_html(chart) for chart in section.charts)
    if section.columns > 1:
        charts = f'<div class="two">{charts}</div>'
    intro = f'<p class="muted">{section.intro}</p>' if section.intro else ""
    return (
        f'<section id="{esc(section.anchor)}"><h2>{esc(section.title)}</h2>{intro}'
        f"{charts}{section.extra_html}</section>"
    )


class Footnotes:
    """Numbers each distinct provenance once, in order of first use."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def number(self, text: str) -> int:
        if text not in self.texts:
            self.texts.append(text)
        return self.texts.index(text) + 1

    def html(self) -> str:
        items = "".join(f"<li>{esc(text)}</li>" for text in self.texts)
        return f'<ol class="footnotes">{items}</ol>'


def _number(value: float | None) -> str:
    return "" if is_missing(value) else repr(float(value))  # type: ignore[arg-type]


def cell_html(measure: Measure, phase: str, notes: Footnotes) -> str:
    change = measure.change
    number = notes.number(measure.provenance())
    title = f"{measure.label}: {format_value(change.current, change.kind)} " + (
        f"(previous period {format_value(change.previous, change.kind)}, {change.text()}). "
        f"{measure.provenance()}"
    )
    return (
        f'<div class="cell {change.css_class()}" style="background:{change.background()}" '
        f'data-phase="{esc(phase)}" data-metric="{esc(measure.key)}" '
        f'data-value="{_number(change.current)}" data-previous="{_number(change.previous)}" '
        f'title="{esc(title)}">'
        f'<span class="label">{esc(measure.label)}<sup>[{number}]</sup></span>'
        f'<span class="value">{esc(format_value(change.current, change.kind))}</span>'
        f'<span class="delta">{esc(change.text())}</span></div>'
    )


def map_html(
    columns: list[PhaseColumn], colours: dict[str, str], title: str, subtitle: str, notes: Footnotes
) -> str:
    parts = []
    for column in columns:
        groups = [
            ("Journey", column.measures),
            ("Top touchpoints", column.touchpoints),
            ("Top channels", column.channels),
            ("KPIs", column.kpis),
        ]
        body = "".join(
            f"<section><h4>{esc(name)}</h4>"
            + ("".join(cell_html(m, column.phase, notes) for m in measures) or
               '<span class="muted">none in the period</span>')
            + "</section>"
            for name, measures in groups
            if measures or name != "KPIs"
        )  # fmt: skip
        parts.append(
            f'<div class="phase" data-phase="{esc(column.phase)}">'
            f'<header style="background:{colours[column.phase]}">{esc(column.label)}'
            f"<small>phase {column.rank} · {esc(column.phase)}</small></header>{body}</div>"
        )
    grid = (
        f'<div class="map" style="grid-template-columns: repeat({max(len(columns), 1)}, '
        f'minmax(170px, 1fr))">{"".join(parts)}</div>'
    )
    legend = (
        '<div class="legend"><span><span class="swatch" style="background:rgba(22,163,74,.6)">'
        '</span>better than the previous period</span><span><span class="swatch" '
        'style="background:rgba(220,38,38,.6)"></span>worse</span><span><span class="swatch" '
        'style="background:#f3f4f6"></span>about the same, no comparison, or neither better nor '
        "worse</span><span>stronger colour = larger change; hover a cell for its source</span></div>"
    )
    return (
        f'<section id="journey-map"><h2>{esc(title)}</h2><p class="muted">{esc(subtitle)}</p>'
        f"{grid}{legend}{notes.html()}</section>"
    )


def page_html(title: str, header: str, body: str, *, charts: bool = True) -> str:
    """The whole document; `charts=False` leaves Plotly out (a page of HTML only, such as the
    map alone, which the browser then draws in a fraction of the time)."""
    script = f'<script type="text/javascript">{get_plotlyjs()}</script>' if charts else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style>{script}</head>"
        f"<body><main>{header}{body}</main></body></html>\n"
    )


def table_html(headers: list[str], rows: list[tuple], numeric: set[int] | None = None) -> str:
    """A small table (run facts, identifiers): `rows` are already formatted strings."""
    numeric = numeric or set()
    head = "".join(
        f'<th class="{"number" if i in numeric else ""}">{esc(h)}</th>'
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"number" if i in numeric else ""}">{esc(v)}</td>'
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
