"""What the journey map must show, computed independently of `pipelines.report`: Polars over
the marts' rows (phase figures) and one plain SQL sum per KPI, with the period rule written
out again. Used by the browser test to check every number the page shows."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta

import polars as pl

from tests.report.conftest import Published


def default_period(published: Published) -> tuple[date, date]:
    last = published.query("select max(occurred_at)::date as d from marts.fct_touchpoints")["d"][0]
    return last - timedelta(days=29), last


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return datetime(first.year, first.month, first.day), datetime(
        last.year, last.month, last.day
    ) + timedelta(days=1)


def months_inside(first: date, last: date) -> list[date]:
    """Calendar months with at least half their days between first and last (else the last
    day's month)."""
    chosen = []
    for year, month in sorted({(d.year, d.month) for d in _days(first, last)}):
        length = calendar.monthrange(year, month)[1]
        inside = sum(1 for d in _days(first, last) if (d.year, d.month) == (year, month))
        if inside * 2 >= length:
            chosen.append(date(year, month, 1))
    return chosen or [last.replace(day=1)]


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def phase_figures(published: Published, first: date, last: date) -> dict[tuple[str, str], float]:
    """{(phase, metric): value} for the map's journey, satisfaction and top-item cells."""
    start, end = bounds(first, last)
    ranks = dict(
        published.query("select phase, phase_rank from marts.dim_journey_phases").iter_rows()
    )
    last_phase = max(ranks, key=ranks.get)
    spells = published.query("select * from marts.fct_journey_phases")
    entered = spells.filter(pl.col("entered_at").is_between(start, end, closed="left"))
    entered = entered.with_columns(
        pl.col("next_phase").replace_strict(ranks, default=None).alias("next_rank")
    )
    figures: dict[tuple[str, str], float] = {}
    for phase in ranks:
        mine = entered.filter(pl.col("phase") == phase)
        reached = mine["person_id"].n_unique()
        figures[(phase, "reached")] = reached
        moved = mine.filter(
            (pl.col("next_rank") > pl.col("phase_rank")) & (pl.col("exited_at") < end)
        )["person_id"].n_unique()
        if phase != last_phase and reached:
            figures[(phase, "moved_on_rate")] = moved / reached
            figures[(phase, "dropoff_rate")] = (reached - moved) / reached
        ended = spells.filter(
            (pl.col("phase") == phase) & pl.col("exited_at").is_between(start, end, closed="left")
        )
        if ended.height:
            figures[(phase, "median_days")] = ended["duration_seconds"].median() / 86400
    touchpoints = published.query(
        "select phase, touchpoint_type, channel, occurred_at, touchpoint_score from marts.fct_touchpoints"
    ).filter(pl.col("occurred_at").is_between(start, end, closed="left"))
    for dimension in ("touchpoint_type", "channel"):
        counts = (
            touchpoints.filter(pl.col("phase").is_not_null()).group_by("phase", dimension).len()
        )
        for phase, item, count in counts.iter_rows():
            figures[(phase, f"{dimension}:{item}")] = count
    tickets = published.query("select * from marts.fct_support_tickets").filter(
        pl.col("created_at").is_between(start, end, closed="left")
        & pl.col("csat_score").is_not_null()
    )
    for phase, group in tickets.group_by("phase_at_ticket"):
        figures[(phase[0], "csat")] = (group["csat_score"] == "good").sum() / group.height
    nps = published.query(
        "select touchpoint_score, occurred_at from marts.fct_touchpoints where touchpoint_type = 'nps_response'"
    ).filter(pl.col("occurred_at").is_between(start, end, closed="left"))
    if nps.height:
        promoters = (nps["touchpoint_score"] >= 9).sum()
        detractors = (nps["touchpoint_score"] <= 6).sum()
        figures[("*", "nps")] = 100 * (promoters - detractors) / nps.height
    return figures


KPI_SQL = {
    # key: (mart, time column or expression, grain, numerator, denominator, extra filter)
    "sessions": ("kpi_awareness_daily", "activity_date", "day", "sum(sessions)", None, None),
    "new_visitors": ("kpi_awareness_daily", "activity_date", "day", "sum(new_visitors)", None, None),
    "engagement_rate": ("kpi_awareness_daily", "activity_date", "day", "sum(engaged_sessions)", "sum(sessions)", None),
    "key_page_click_through_rate": ("kpi_awareness_daily", "activity_date", "day",
                                    "sum(key_page_click_through_rate * sessions)", "sum(sessions)", None),
    "email_open_rate": ("kpi_awareness_daily", "activity_date", "day", "sum(email_recipients_opened)",
                        "sum(emails_delivered)", None),
    "leads": ("kpi_acquisition_by_channel", "activity_month", "month", "sum(leads)", None, None),
    "form_completion_rate": ("kpi_acquisition_by_channel", "activity_month", "month",
                             "sum(sessions_with_form_submit)", "sum(sessions)", None),
    "customer_acquisition_cost": ("kpi_acquisition_by_channel", "activity_month", "month", "sum(spend)",
                                  "sum(new_customers) filter (where spend is not null)", None),
    "conversion_rate": ("kpi_conversion_by_channel", "cohort_month", "month", "sum(buyers)", "sum(persons)", None),
    "visitor_to_order_rate": ("kpi_conversion_by_channel", "cohort_month", "month", "sum(funnel_buyers)",
                              "sum(funnel_visitors)", None),
    "average_order_value": ("kpi_conversion_by_channel", "cohort_month", "month", "sum(revenue)",
                            "sum(orders)", None),
    "returning_customers": ("kpi_retention_cohorts", "date_add(cohort_month, interval (months_since_first_order) month)",
                            "month", "sum(active_customers)", None, "months_since_first_order >= 1"),
    "retention_rate": ("kpi_retention_cohorts", "date_add(cohort_month, interval (months_since_first_order) month)",
                       "month", "sum(active_customers)", "sum(customers)", "months_since_first_order >= 1"),
    "repeat_customer_rate": ("kpi_loyalty", "cohort_month", "month", "sum(repeat_customers)", "sum(customers)", None),
    "positive_review_rate": ("kpi_loyalty", "cohort_month", "month", "sum(positive_reviews)", "sum(reviews)", None),
    "referral_participation_rate": ("kpi_loyalty", "cohort_month", "month", "sum(referrers)", "sum(customers)", None),
}  # fmt: skip


def kpi_value(published: Published, key: str, first: date, last: date) -> float | None:
    table, time, grain, numerator, denominator, extra = KPI_SQL[key]
    if grain == "day":
        start, end = bounds(first, last)
        where = f"{time} >= '{start:%Y-%m-%d}' and {time} < '{end:%Y-%m-%d}'"
    else:
        months = ", ".join(f"date '{m}'" for m in months_inside(first, last))
        where = f"cast({time} as date) in ({months})"
    if extra:
        where += f" and {extra}"
    value = f"{numerator}" if denominator is None else f"{numerator} / nullif({denominator}, 0)"
    return published.query(f"select cast({value} as double) as v from marts.{table} where {where}")[
        "v"
    ][0]


NUMBER = re.compile(r"^([+-]?[\d,]*\.?\d+)\s*(%|d|h|min|s)?$")


def shown_value(text: str) -> tuple[float | None, float]:
    """The number a cell shows, in the unit the data uses (rates as fractions, durations in
    days), and how far off rounding for display can put it."""
    text = text.strip().replace("\u2212", "-")
    if text == "–":
        return None, 0.0
    match = NUMBER.match(text)
    assert match, f"cannot read {text!r}"
    digits, unit = match.group(1).replace(",", ""), match.group(2)
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    value, tolerance = float(digits), 0.5 * 10**-decimals
    scale = {"%": 0.01, "d": 1.0, "h": 1 / 24, "min": 1 / 1440, "s": 1.0, None: 1.0}[unit]
    return value * scale, tolerance * scale
