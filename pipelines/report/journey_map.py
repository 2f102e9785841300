"""The journey map: one column per configured phase, each figure against the previous period.

Definitions (persons are counted once per phase and period):
* **reached** — persons with a spell of the phase (fct_journey_phases) entered in the period;
* **moved on** — of them, persons whose spell was followed by a later phase (a higher rank:
  the next phase, or one beyond it) entered before the period ended; the share is the
  conversion to the next phase. The last phase has none;
* **drop-off** — of them, persons who had not reached a later phase by the period's end
  (reached − moved on);
* **median time in phase** — over the spells of the phase that ended in the period (the
  next spell was entered), days from entering to leaving;
* **top touchpoints / channels** — touchpoints of the phase (fct_touchpoints.phase) in the
  period, by type and by channel;
* **CSAT** — of the tickets raised in the phase (fct_support_tickets.phase_at_ticket) in the
  period and rated, the share rated good; **NPS** (on the phase NPS promoters belong to) —
  % promoters (9-10) minus % detractors (0-6) of the period's NPS answers;
* **KPIs** — see `kpis.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from pipelines.report.compare import Change, Measure
from pipelines.report.kpis import kpi_measures
from pipelines.report.period import Period, join_windows
from pipelines.report.phases import Phases
from pipelines.report.reader import PublishedWarehouse, evidence
from pipelines.report.support import ticket_figures

SPELLS = evidence(
    "fct_journey_phases",
    "person_id",
    "phase",
    "phase_rank",
    "entered_at",
    "exited_at",
    "next_phase",
)
DURATIONS = evidence("fct_journey_phases", "phase", "exited_at", "duration_seconds")
TOUCHPOINTS = evidence("fct_touchpoints", "phase", "occurred_at", "touchpoint_type", "channel")
TICKETS = evidence("fct_support_tickets", "phase_at_ticket", "created_at", "csat_score")
NPS = evidence("fct_touchpoints", "touchpoint_type", "touchpoint_score", "occurred_at")
REQUIRED = (SPELLS, DURATIONS, TOUCHPOINTS)
TOP_ITEMS = 3


@dataclass
class PhaseColumn:
    phase: str
    label: str
    rank: int
    measures: list[Measure] = field(default_factory=list)
    touchpoints: list[Measure] = field(default_factory=list)
    channels: list[Measure] = field(default_factory=list)
    kpis: list[Measure] = field(default_factory=list)


def _by_phase(frame: pl.DataFrame, column: str) -> dict[tuple[str, str], float]:
    """{(phase, period): value} of a frame with phase, period and `column`."""
    return {
        (phase, period): value
        for phase, period, value in zip(frame["phase"], frame["period"], frame[column], strict=True)
    }


def spell_figures(warehouse: PublishedWarehouse) -> pl.DataFrame:
    """period, phase, reached, moved_on (see the module docstring)."""
    return warehouse.frame(
        f"""
        select
            windows.period,
            spells.phase,
            count(distinct spells.person_id) as reached,
            count(distinct case
                when next_phases.phase_rank > spells.phase_rank and spells.exited_at < windows.ends_at
                    then spells.person_id
            end) as moved_on
        from marts.fct_journey_phases as spells
        {join_windows("spells.entered_at")}
        left join report_phases as next_phases
            on spells.next_phase = next_phases.phase
        group by all
        """
    )


def duration_figures(warehouse: PublishedWarehouse) -> pl.DataFrame:
    """period, phase, median_days, spells_ended."""
    return warehouse.frame(
        f"""
        select
            windows.period,
            spells.phase,
            median(spells.duration_seconds) / 86400.0 as median_days,
            count(*) as spells_ended
        from marts.fct_journey_phases as spells
        {join_windows("spells.exited_at")}
        group by all
        """
    )


def touchpoint_figures(warehouse: PublishedWarehouse) -> pl.DataFrame:
    """period, phase, dimension ('touchpoint_type' | 'channel'), item, touchpoints."""
    return warehouse.frame(
        f"""
        select
            windows.period,
            touchpoints.phase,
            case when grouping(touchpoints.touchpoint_type) = 0
                then 'touchpoint_type' else 'channel' end as dimension,
            coalesce(touchpoints.touchpoint_type, touchpoints.channel) as item,
            count(*) as touchpoints
        from marts.fct_touchpoints as touchpoints
        {join_windows("touchpoints.occurred_at")}
        where touchpoints.phase is not null
        group by grouping sets (
            (windows.period, touchpoints.phase, touchpoints.touchpoint_type),
            (windows.period, touchpoints.phase, touchpoints.channel)
        )
        """
    )


def nps_figures(warehouse: PublishedWarehouse) -> pl.DataFrame:
    """period, responses, promoters, detractors, net_promoter_score."""
    return warehouse.frame(
        f"""
        select
            windows.period,
            count(*) as responses,
            count(case when touchpoints.touchpoint_score >= 9 then 1 end) as promoters,
            count(case when touchpoints.touchpoint_score <= 6 then 1 end) as detractors,
            100.0 * (promoters - detractors) / responses as net_promoter_score
        from marts.fct_touchpoints as touchpoints
        {join_windows("touchpoints.occurred_at")}
        where touchpoints.touchpoint_type = 'nps_response' and touchpoints.touchpoint_score is not null
        group by all
        """
    )


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return None if not denominator or numerator is None else numerator / denominator


def _top(frame: pl.DataFrame, phase: str, dimension: str) -> list[Measure]:
    """The phase's most frequent touchpoint types or channels in the period."""
    rows = frame.filter((pl.col("phase") == phase) & (pl.col("dimension") == dimension))
    wide = (
        rows.pivot(on="period", index="item", values="touchpoints")
        if rows.height
        else pl.DataFrame(schema={"item": pl.String, "current": pl.Int64})
    )
    for name in ("current", "previous"):
        if name not in wide.columns:
            wide = wide.with_columns(pl.lit(0, pl.Int64).alias(name))
    top = (
        wide.filter(pl.col("current") > 0)
        .sort(["current", "item"], descending=[True, False])
        .head(TOP_ITEMS)
        .fill_null(0)
    )
    return [
        Measure(
            key=f"{dimension}:{item}",
            label=item.replace("_", " "),
            change=Change(float(current), float(previous), "count", 0),
            evidence=(evidence("fct_touchpoints", "phase", "occurred_at", dimension),),
            definition=f"Touchpoints of the phase in the period, by {dimension.replace('_', ' ')}",
        )
        for item, current, previous in zip(
            top["item"], top["current"], top["previous"], strict=True
        )
    ]


@dataclass
class _Figures:
    """The period figures of every phase, keyed (phase, 'current' | 'previous')."""

    reached: dict
    moved_on: dict
    median_days: dict
    rated: dict | None
    good: dict | None
    nps: dict


def _pair(values: dict, phase: str, default=None) -> tuple:
    return values.get((phase, "current"), default), values.get((phase, "previous"), default)


def _spell_measures(figures: _Figures, phase: str, is_last: bool, phases: Phases) -> list[Measure]:
    now, before = _pair(figures.reached, phase, 0)
    measures = [
        Measure("reached", "Reached", Change(now, before, "count", 1), (SPELLS,),
                "Persons who entered the phase (a spell of it) in the period"),
    ]  # fmt: skip
    if is_last:
        return measures
    moved_now, moved_before = _pair(figures.moved_on, phase, 0)
    return [
        *measures,
        Measure(
            "moved_on_rate",
            "→ later phase",
            Change(_ratio(moved_now, now), _ratio(moved_before, before), "rate", 1),
            (SPELLS, phases.source),
            "Of the persons who reached the phase, those who entered a later phase before the "
            "period ended (conversion to the next phase)",
        ),
        Measure(
            "dropoff_rate",
            "Drop-off",
            Change(_ratio(now - moved_now, now), _ratio(before - moved_before, before), "rate", -1),
            (SPELLS, phases.source),
            "Of the persons who reached the phase, those who had not entered a later phase by "
            "the period's end",
        ),
    ]


def _time_in_phase(figures: _Figures, phase: str, faster_is_better: bool) -> Measure:
    current, previous = _pair(figures.median_days, phase)
    return Measure(
        "median_days",
        "Median time in phase",
        Change(current, previous, "days", -1 if faster_is_better else 0),
        (DURATIONS,),
        "Median days from entering the phase to entering the next one, over the spells that "
        "ended in the period"
        + (" (shorter is better before the purchase)" if faster_is_better else ""),
    )


def _satisfaction(figures: _Figures, phase: str, has_nps: bool) -> list[Measure]:
    measures = []
    if figures.rated is not None and figures.good is not None:
        good, rated = _pair(figures.good, phase), _pair(figures.rated, phase)
        measures.append(
            Measure(
                "csat",
                "CSAT",
                Change(_ratio(good[0], rated[0]), _ratio(good[1], rated[1]), "rate", 1),
                (TICKETS,),
                "Rated tickets raised in the phase in the period that were rated good",
            )
        )
    if has_nps:
        measures.append(
            Measure(
                "nps",
                "NPS",
                Change(figures.nps.get("current"), figures.nps.get("previous"), "score", 1),
                (NPS,),
                "Net promoter score of the period's NPS answers (% 9-10 minus % 0-6)",
            )
        )
    return measures


def journey_map(warehouse: PublishedWarehouse, phases: Phases, period: Period) -> list[PhaseColumn]:
    """One column per configured phase (expects `report_windows`, `report_months` and
    `report_phases` to be registered; see `build.py`)."""
    spells = spell_figures(warehouse)
    tickets = ticket_figures(warehouse) if not warehouse.missing([TICKETS]) else None
    nps = nps_figures(warehouse)
    figures = _Figures(
        reached=_by_phase(spells, "reached"),
        moved_on=_by_phase(spells, "moved_on"),
        median_days=_by_phase(duration_figures(warehouse), "median_days"),
        rated=_by_phase(tickets, "rated") if tickets is not None else None,
        good=_by_phase(tickets, "good") if tickets is not None else None,
        nps=dict(zip(nps["period"], nps["net_promoter_score"], strict=True)),
    )
    touchpoints = touchpoint_figures(warehouse)
    kpis = kpi_measures(warehouse, period)
    last_rank = phases.frame["phase_rank"].max()
    conversion_home = phases.homes.get("conversion")
    conversion_rank = phases.rank(conversion_home) if conversion_home else None

    columns = []
    for phase, rank, label in phases.frame.iter_rows():  # one column per configured phase
        families = phases.families_of(phase)
        faster_is_better = conversion_rank is not None and rank < conversion_rank
        columns.append(
            PhaseColumn(
                phase=phase,
                label=label,
                rank=rank,
                measures=[
                    *_spell_measures(figures, phase, rank == last_rank, phases),
                    _time_in_phase(figures, phase, faster_is_better),
                    *_satisfaction(figures, phase, "nps" in families),
                ],
                touchpoints=_top(touchpoints, phase, "touchpoint_type"),
                channels=_top(touchpoints, phase, "channel"),
                kpis=[measure for family in families for measure in kpis.get(family, [])],
            )
        )
    return columns
