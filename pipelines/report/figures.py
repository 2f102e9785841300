"""The report's charts, drawn with Plotly from the small frames the query modules return.

Every chart names its source (mart and columns) in its hover text; the page repeats it in a
footnote under the chart. A function returns None when there is nothing to draw, and the
page says so instead of showing an empty chart.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from pipelines.report.flows import FUNNEL_STEPS, bucket_labels
from pipelines.report.phases import Phases
from pipelines.report.reader import Evidence

PERIOD_COLOURS = {"current": "#2563eb", "previous": "#cbd5e1"}
PHASE_COLOURS = ("#60a5fa", "#a78bfa", "#f59e0b", "#34d399", "#f472b6", "#94a3b8", "#fb7185",
                 "#22d3ee", "#a3e635", "#fbbf24")  # fmt: skip
EXIT_COLOUR = "#e5e7eb"


def _source(*items: Evidence) -> str:
    return (
        "<br><span style='color:#6b7280'>source: " + "; ".join(i.text() for i in items) + "</span>"
    )


def _layout(figure: go.Figure, title: str, height: int = 380) -> go.Figure:
    figure.update_layout(
        title={"text": title, "x": 0, "font": {"size": 15}},
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"orientation": "h", "y": -0.15},
        font={"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12},
    )
    return figure


def phase_colour(phases: Phases, phase: str) -> str:
    names = phases.names
    index = names.index(phase) if phase in names else len(names)
    return PHASE_COLOURS[index % len(PHASE_COLOURS)]


def transitions_sankey(frame: pl.DataFrame, phases: Phases, source: Evidence) -> go.Figure | None:
    """Phase → later phase, re-entry (↺) or no later phase yet, for the period's spells."""
    if frame.is_empty():
        return None
    reentries = frame.filter(pl.col("outcome") == "re-entry")["next_phase"].unique().sort()
    labels = [phases.label(p) for p in phases.names]
    labels += [f"↺ {phases.label(p)} (re-entry)" for p in reentries]
    labels.append("no later phase yet")
    index = {p: i for i, p in enumerate(phases.names)}
    reentry_index = {p: len(phases.names) + i for i, p in enumerate(reentries)}
    exit_index = len(labels) - 1
    links = frame.with_columns(
        pl.col("phase").replace_strict(index, default=None).alias("source_node"),
        pl.when(pl.col("outcome") == "forward")
        .then(pl.col("next_phase").replace_strict(index, default=None))
        .when(pl.col("outcome") == "re-entry")
        .then(pl.col("next_phase").replace_strict(reentry_index, default=None))
        .otherwise(exit_index)
        .alias("target_node"),
    ).drop_nulls(["source_node", "target_node"])
    node_colours = [phase_colour(phases, p) for p in phases.names]
    node_colours += [phase_colour(phases, p) for p in reentries] + [EXIT_COLOUR]
    figure = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={"label": labels, "color": node_colours, "pad": 18, "thickness": 16},
            link={
                "source": links["source_node"].to_list(),
                "target": links["target_node"].to_list(),
                "value": links["spells"].to_list(),
                "color": "rgba(148, 163, 184, 0.35)",
                "hovertemplate": "%{source.label} → %{target.label}: %{value:,} spells"
                + _source(source)
                + "<extra></extra>",
            },
        )
    )
    return _layout(figure, "Phase transitions of the period's spells (as of the data's end)", 420)


def channel_funnels(frame: pl.DataFrame, source: Evidence, window: str) -> go.Figure | None:
    """One funnel line per acquisition channel: the share of its visitors reaching each step."""
    if frame.is_empty():
        return None
    steps = [label for _, label in FUNNEL_STEPS]
    long = (
        frame.unpivot(
            index="acquisition_channel",
            on=[column for column, _ in FUNNEL_STEPS],
            variable_name="step_column",
            value_name="persons",
        )
        .with_columns(
            pl.col("persons").cast(pl.Float64),
            pl.col("step_column")
            .replace_strict(dict(FUNNEL_STEPS), return_dtype=pl.String)
            .alias("step"),
        )
        .with_columns(
            (pl.col("persons") / pl.col("persons").first().over("acquisition_channel")).alias(
                "share"
            )
        )
    )
    figure = go.Figure()
    for channel in frame["acquisition_channel"].to_list():  # at most FUNNEL_CHANNELS lines
        rows = long.filter(pl.col("acquisition_channel") == channel)
        figure.add_trace(
            go.Scatter(
                name=channel,
                x=rows["step"].to_list(),
                y=rows["share"].to_list(),
                customdata=rows["persons"].to_list(),
                mode="lines+markers",
                hovertemplate=f"{channel}<br>%{{x}}: %{{customdata:,.0f}} persons "
                "(%{y:.1%} of visitors)" + _source(source) + "<extra></extra>",
            )
        )
    figure.update_xaxes(categoryorder="array", categoryarray=steps)
    figure.update_yaxes(title="share of the channel's visitors", tickformat=".0%", range=[0, 1.05])
    return _layout(figure, f"Web funnel per acquisition channel ({window})")


def top_paths(frame: pl.DataFrame, source: Evidence) -> go.Figure | None:
    if frame.is_empty():
        return None
    ordered = frame.reverse()
    figure = go.Figure(
        go.Bar(
            orientation="h",
            y=ordered["channel_path"].to_list(),
            x=ordered["paths"].to_list(),
            marker_color=PERIOD_COLOURS["current"],
            customdata=ordered.select(
                "persons",
                pl.col("revenue").cast(pl.Float64),
                pl.col("path_conversion_rate").cast(pl.Float64),
            ).rows(),
            hovertemplate="%{y}<br>%{x:,} orders, %{customdata[0]:,} persons, "
            "revenue %{customdata[1]:,.0f}<br>path conversion rate %{customdata[2]:.1%}"
            + _source(source)
            + "<extra></extra>",
        )
    )
    figure.update_yaxes(automargin=True)
    return _layout(figure, "Top channel paths to an order (all orders)", 40 + 34 * frame.height)


def _period_bars(figure: go.Figure, frame: pl.DataFrame, x: str, y: str, hover: str, name, **add):
    """One bar trace per period (previous first, in grey), from a frame with a period column."""
    for period in ("previous", "current"):
        rows = frame.filter(pl.col("period") == period)
        figure.add_trace(
            go.Bar(
                name=name(period, rows),
                x=rows[x].to_list(),
                y=rows[y].to_list(),
                marker_color=PERIOD_COLOURS[period],
                hovertemplate=hover + "<extra></extra>",
            ),
            **add,
        )


def time_to_first_order(frame: pl.DataFrame, source: Evidence) -> go.Figure | None:
    if frame.filter(pl.col("period") == "current").is_empty():
        return None

    def name(period: str, rows: pl.DataFrame) -> str:
        median = rows["median_days"][0] if rows.height else None
        return f"{period} period" + (f" (median {median:.1f} d)" if median is not None else "")

    figure = go.Figure()
    hover = "%{x}: %{y:,} first orders" + _source(source)
    _period_bars(figure, frame, "bucket", "buyers", hover, name)
    figure.update_xaxes(
        categoryorder="array", categoryarray=bucket_labels(), title="days from first touch"
    )
    figure.update_yaxes(title="persons")
    return _layout(figure, "Time from first touch to first order")


def attribution_revenue(frame: pl.DataFrame, source: Evidence) -> go.Figure | None:
    if frame.is_empty():
        return None
    channels = (
        frame.group_by("channel").agg(pl.col("revenue").sum()).sort("revenue", descending=True)
    )["channel"].to_list()
    figure = go.Figure()
    for model in frame["attribution_model"].unique().sort().to_list():
        rows = frame.filter(pl.col("attribution_model") == model)
        figure.add_trace(
            go.Bar(
                name=model,
                x=rows["channel"].to_list(),
                y=rows["revenue"].to_list(),
                hovertemplate=f"{model}<br>%{{x}}: %{{y:,.0f}} revenue"
                + _source(source)
                + "<extra></extra>",
            )
        )
    figure.update_layout(barmode="group")
    figure.update_xaxes(categoryorder="array", categoryarray=channels)
    figure.update_yaxes(title="attributed revenue")
    return _layout(figure, "Revenue per channel under each attribution model", 420)


def _every_phase(frame: pl.DataFrame, phases: Phases) -> pl.DataFrame:
    """`frame` (period, phase, …) with a row for every period × configured phase (plus
    '(none)' when present), its label, in journey order: phases without tickets show as 0."""
    names = phases.frame.select("phase", "phase_rank", "label")
    if frame.filter(pl.col("phase") == "(none)").height:
        names = pl.concat(
            [
                names,
                pl.DataFrame({"phase": ["(none)"], "phase_rank": [10**6], "label": ["no phase"]}),
            ],
            how="vertical_relaxed",
        )
    grid = pl.DataFrame({"period": ["previous", "current"]}).join(names, how="cross")
    return (
        grid.join(frame, on=["period", "phase"], how="left")
        .with_columns(pl.col("tickets", "rated", "good").fill_null(0))
        .sort("phase_rank")
    )


def tickets_by_phase(frame: pl.DataFrame, phases: Phases, source: Evidence) -> go.Figure | None:
    if frame.filter(pl.col("period") == "current").is_empty():
        return None
    complete = _every_phase(frame, phases)
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    hover = "%{x}: %{y:,} tickets" + _source(source)
    _period_bars(
        figure, complete, "label", "tickets", hover, lambda period, _: f"tickets, {period} period",
        secondary_y=False,
    )  # fmt: skip
    current = complete.filter(pl.col("period") == "current")
    figure.add_trace(
        go.Scatter(
            name="median first reply (min), current period",
            x=current["label"].to_list(),
            y=current["median_first_reply_minutes"].to_list(),
            mode="markers",
            marker={"color": "#f97316", "size": 11, "symbol": "diamond"},
            hovertemplate="%{x}: first reply after %{y:,.0f} min (median)"
            + _source(source)
            + "<extra></extra>",
        ),
        secondary_y=True,
    )
    figure.update_yaxes(title="tickets", secondary_y=False)
    figure.update_yaxes(title="minutes to first reply", secondary_y=True, showgrid=False)
    figure.update_layout(barmode="group")
    return _layout(figure, "Tickets and first-reply time per phase")


def satisfaction_by_phase(
    frame: pl.DataFrame, phases: Phases, source: Evidence
) -> go.Figure | None:
    if frame.filter((pl.col("period") == "current") & (pl.col("rated") > 0)).is_empty():
        return None
    complete = _every_phase(frame, phases).with_columns(
        pl.when(pl.col("rated") > 0).then(pl.col("good") / pl.col("rated")).alias("csat")
    )
    figure = go.Figure()
    for period in ("previous", "current"):
        rows = complete.filter(pl.col("period") == period)
        figure.add_trace(
            go.Scatter(
                name=f"{period} period",
                x=rows["label"].to_list(),
                y=rows["csat"].to_list(),
                customdata=rows.select("good", "rated").rows(),
                mode="markers+lines",
                connectgaps=True,
                marker={"color": PERIOD_COLOURS[period], "size": 10},
                line={"color": PERIOD_COLOURS[period]},
                hovertemplate="%{x}: CSAT %{y:.0%} (%{customdata[0]} good of %{customdata[1]} rated)"
                + _source(source)
                + "<extra></extra>",
            )
        )
    figure.update_yaxes(title="CSAT (good / rated)", tickformat=".0%", range=[0, 1.05])
    return _layout(figure, "Satisfaction per phase (the emotional curve)")


def repurchase(frame: pl.DataFrame, sources: tuple[Evidence, ...], days: int) -> go.Figure | None:
    if frame.is_empty():
        return None
    figure = go.Figure(
        go.Bar(
            x=frame["reference"].to_list(),
            y=frame["repurchase_rate"].to_list(),
            customdata=frame.select("repurchased", "events").rows(),
            texttemplate="%{y:.0%}",
            marker_color=frame.select(
                pl.when(pl.col("reference") == "order, no ticket")
                .then(pl.lit("#94a3b8"))
                .otherwise(pl.lit(PERIOD_COLOURS["current"]))
            )
            .to_series()
            .to_list(),
            hovertemplate="%{x}: %{customdata[0]:,} of %{customdata[1]:,} followed by an order "
            f"within {days} days" + _source(*sources) + "<extra></extra>",
        )
    )
    figure.update_yaxes(title=f"ordered within {days} days", tickformat=".0%")
    return _layout(figure, f"Repurchase within {days} days: after a ticket vs without")


def person_timeline(
    touchpoints: pl.DataFrame, spells: pl.DataFrame, phases: Phases, sources: tuple[Evidence, ...]
) -> go.Figure | None:
    if touchpoints.is_empty():
        return None
    figure = go.Figure()
    last: Any = touchpoints["occurred_at"].max()  # a datetime: the column is a timestamp
    span = (last - touchpoints["occurred_at"].min()) or timedelta(days=1)
    for spell in spells.iter_rows(named=True):  # one band per phase spell (a person has few)
        end = spell["exited_at"] or last
        wide_enough = (end - spell["entered_at"]) > 0.08 * span  # short ones: the colour says it
        figure.add_vrect(
            x0=spell["entered_at"],
            x1=end,
            fillcolor=phase_colour(phases, spell["phase"]),
            opacity=0.18,
            line_width=0,
            annotation_text=phases.label(spell["phase"]) if wide_enough else None,
            annotation_position="top left",
        )
    for phase in touchpoints["phase"].unique(maintain_order=True).to_list():
        rows = touchpoints.filter(
            pl.col("phase").is_null() if phase is None else pl.col("phase") == phase
        )
        figure.add_trace(
            go.Scatter(
                name=phases.label(phase) if phase else "no phase",
                x=rows["occurred_at"].to_list(),
                y=rows["source"].to_list(),
                mode="markers",
                marker={
                    "size": 11,
                    "color": phase_colour(phases, phase) if phase else "#9ca3af",
                    "line": {"width": 1, "color": "#374151"},
                },
                customdata=rows.select("touchpoint_type", "channel", "stream", "record_id").rows(),
                hovertemplate="%{x}<br>%{customdata[0]} via %{customdata[1]}"
                "<br>%{y}/%{customdata[2]} record %{customdata[3]}"
                + _source(*sources)
                + "<extra></extra>",
            )
        )
    figure.update_yaxes(title="source", categoryorder="category ascending")
    return _layout(figure, "Touchpoints across the sources, over the phase spells", 420)
