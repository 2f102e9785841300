"""A figure against the previous period: the change, how to print it, and its colour.

Counts, money and durations change by a relative amount (+12 %); rates and scores change by
points (+3.1 pp, +4 NPS points). Whether a change is good depends on the measure (`better`):
+1 higher is better, -1 lower is better, 0 neither (grey). The colour's strength grows with
the size of the change up to `FULL_SCALE`; changes below `NOISE` stay grey.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pipelines.report.reader import Evidence

Kind = Literal["count", "rate", "money", "days", "minutes", "score", "seconds"]

RELATIVE_KINDS = {"count", "money", "days", "minutes", "seconds"}
FULL_SCALE = {"relative": 0.25, "rate": 0.10, "score": 20.0}
NOISE = {"relative": 0.02, "rate": 0.005, "score": 1.0}


def is_missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(value: float | None, kind: Kind) -> str:
    if is_missing(value):
        return "–"
    assert value is not None
    if kind == "count":
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if kind == "rate":
        return f"{100 * value:.1f} %"
    if kind == "money":
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    if kind == "days":
        if value < 1 / 24:
            return f"{value * 1440:,.0f} min"
        return f"{value * 24:,.1f} h" if value < 1 else f"{value:,.1f} d"
    if kind == "minutes":
        return f"{value / 60:,.1f} h" if value >= 120 else f"{value:,.0f} min"
    if kind == "seconds":
        return f"{value:,.0f} s"
    return f"{value:+.0f}" if kind == "score" else str(value)


@dataclass(frozen=True)
class Change:
    current: float | None
    previous: float | None
    kind: Kind
    better: int = 1

    @property
    def scale(self) -> str:
        if self.kind in RELATIVE_KINDS:
            return "relative"
        return "rate" if self.kind == "rate" else "score"

    @property
    def delta(self) -> float | None:
        """Relative change for counts, money and durations; the difference for rates and
        scores; None when either side is missing (or the previous count is 0)."""
        if is_missing(self.current) or is_missing(self.previous):
            return None
        assert self.current is not None and self.previous is not None
        if self.scale == "relative":
            return None if self.previous == 0 else self.current / self.previous - 1
        return self.current - self.previous

    def text(self) -> str:
        delta = self.delta
        if delta is None:
            if is_missing(self.current):
                return "no data"
            return "new" if self.previous == 0 and self.current else "no comparison"
        if self.scale == "relative":
            return f"{100 * delta:+.0f} %"
        if self.scale == "rate":
            return f"{100 * delta:+.1f} pp"
        return f"{delta:+.0f} pts"

    def performance(self) -> float:
        """-1 (much worse) .. +1 (much better); 0 when neutral or not comparable."""
        delta = self.delta
        if delta is None or self.better == 0 or abs(delta) < NOISE[self.scale]:
            return 0.0
        return max(-1.0, min(1.0, self.better * delta / FULL_SCALE[self.scale]))

    def css_class(self) -> str:
        performance = self.performance()
        if self.delta is None or self.better == 0:
            return "neutral"
        if performance == 0:
            return "flat"
        return "better" if performance > 0 else "worse"

    def background(self) -> str:
        """The cell colour: green for better, red for worse, stronger for larger changes."""
        performance = self.performance()
        if performance == 0:
            return "#f3f4f6"
        alpha = 0.15 + 0.55 * abs(performance)
        rgb = "22, 163, 74" if performance > 0 else "220, 38, 38"
        return f"rgba({rgb}, {alpha:.2f})"


@dataclass(frozen=True)
class Measure:
    """One figure of the report: its value against the previous period, what it means and
    which mart columns it comes from."""

    key: str
    label: str
    change: Change
    evidence: tuple[Evidence, ...]
    definition: str
    window: str = ""
    """How the figure's window differs from the period, e.g. "cohort months Sep 2026 vs Aug 2026"."""

    def provenance(self) -> str:
        sources = "; ".join(item.text() for item in self.evidence)
        window = f" [{self.window}]" if self.window else ""
        return f"{self.definition}{window}. Source: {sources}"
