"""The configured journey phases, and which phase each family of KPIs belongs to.

Phases come from `marts.dim_journey_phases` (the seed `journey_phases` as published), so a
remapped phase model (AIDA, the eight-step model, your own) gives as many map columns as it
has phases, in its order and with its labels — also a phase nobody has reached yet. A
warehouse published before that mart existed falls back to the phases its spells name.

Where a KPI family goes is read from the data, not from phase names: the phase rules decide
which phase a touchpoint type is evidence of, so the family "conversion" goes to the phase of
first orders, "awareness" to the phase of prospects' page views, and so on (`ANCHORS`). Under
the default model that is awareness, consideration, conversion, retention and loyalty; under
AIDA, awareness, interest, action, loyalty and loyalty.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines.report.reader import Evidence, PublishedWarehouse, evidence

PHASES = evidence("dim_journey_phases", "phase", "phase_rank", "label")
SPELL_PHASES = evidence("fct_journey_phases", "phase", "phase_rank")
TOUCHPOINT_PHASES = evidence(
    "fct_touchpoints", "touchpoint_type", "is_customer", "touchpoint_score", "phase"
)


@dataclass(frozen=True)
class Anchor:
    """A touchpoint that is evidence of one KPI family: its type, and whether the person was
    a customer at the time (None: either)."""

    touchpoint_type: str
    is_customer: bool | None = None
    promoters_only: bool = False


# In order of preference: the first anchor with touchpoints in the data decides.
ANCHORS: dict[str, tuple[Anchor, ...]] = {
    "awareness": (Anchor("page_view", False),),
    "acquisition": (Anchor("newsletter_signup", False), Anchor("form_submit", False)),
    "conversion": (Anchor("order", False),),
    "retention": (Anchor("page_view", True), Anchor("csat_response")),
    "loyalty": (Anchor("order", True), Anchor("referral")),
    "nps": (Anchor("nps_response", promoters_only=True), Anchor("referral")),
}


@dataclass(frozen=True)
class Phases:
    frame: pl.DataFrame
    """phase, phase_rank, label — in journey order."""
    source: Evidence
    homes: dict[str, str]
    """KPI family (and "nps") -> the phase it is shown in."""

    @property
    def names(self) -> list[str]:
        return self.frame["phase"].to_list()

    def label(self, phase: str) -> str:
        labels = dict(zip(self.frame["phase"], self.frame["label"], strict=True))
        return labels.get(phase, phase)

    def families_of(self, phase: str) -> list[str]:
        return [family for family, home in self.homes.items() if home == phase]

    def rank(self, phase: str) -> int | None:
        ranks = dict(zip(self.frame["phase"], self.frame["phase_rank"], strict=True))
        return ranks.get(phase)


def load_phases(warehouse: PublishedWarehouse) -> Phases:
    if not warehouse.missing([PHASES]):
        frame = warehouse.frame(
            "select phase, phase_rank, label from marts.dim_journey_phases order by phase_rank"
        )
        source = PHASES
    else:
        frame = warehouse.frame(
            """
            select phase, min(phase_rank) as phase_rank, phase as label
            from marts.fct_journey_phases group by phase order by 2, 1
            """
        )
        source = SPELL_PHASES
    frame = frame.with_columns(pl.col("phase_rank").cast(pl.Int64))
    return Phases(frame=frame, source=source, homes=_homes(warehouse, frame))


def _homes(warehouse: PublishedWarehouse, phases: pl.DataFrame) -> dict[str, str]:
    """The phase each KPI family belongs to: the phase most of its anchor touchpoints carry."""
    if phases.is_empty() or warehouse.missing([TOUCHPOINT_PHASES]):
        return {}
    types = sorted({anchor.touchpoint_type for anchors in ANCHORS.values() for anchor in anchors})
    counts = warehouse.frame(
        """
        select
            touchpoint_type,
            is_customer,
            coalesce(touchpoint_type = 'nps_response' and touchpoint_score >= 9, false)
                as is_promoter,
            phase,
            count(*) as touchpoints
        from marts.fct_touchpoints
        where phase is not null and list_contains($types, touchpoint_type)
        group by all
        """,
        {"types": types},
    )
    known = set(phases["phase"].to_list())
    homes: dict[str, str] = {}
    for family, anchors in ANCHORS.items():
        for anchor in anchors:
            matching = counts.filter(pl.col("touchpoint_type") == anchor.touchpoint_type)
            if anchor.is_customer is not None:
                matching = matching.filter(pl.col("is_customer") == anchor.is_customer)
            if anchor.promoters_only:
                matching = matching.filter(pl.col("is_promoter"))
            matching = matching.filter(pl.col("phase").is_in(known))
            if matching.height:
                top = matching.group_by("phase").agg(pl.col("touchpoints").sum())
                homes[family] = top.sort(["touchpoints", "phase"], descending=[True, False])[
                    "phase"
                ][0]
                break
    if "nps" not in homes:  # no NPS answers yet: advocacy is the journey's last phase
        homes["nps"] = phases["phase"][-1]
    return homes
