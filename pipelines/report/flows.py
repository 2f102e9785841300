"""Flows through the journey: phase transitions, funnels per acquisition channel, the top
conversion paths and the time from first touch to first order.

Each function returns a small frame computed by DuckDB over the published marts; the figures
are drawn in `figures.py`. The queries expect `report_windows`, `report_months` and
`report_phases` to be registered (`build.py`).
"""

from __future__ import annotations

import polars as pl

from pipelines.report.period import join_windows
from pipelines.report.reader import PublishedWarehouse, evidence

TRANSITIONS = evidence(
    "fct_journey_phases", "phase", "phase_rank", "entered_at", "next_phase", "exited_at"
)
FUNNEL = evidence(
    "kpi_conversion_by_channel",
    "cohort_month",
    "acquisition_channel",
    "funnel_visitors",
    "funnel_product_viewers",
    "funnel_cart_adders",
    "funnel_checkout_starters",
    "funnel_buyers",
)
PATHS = evidence(
    "fct_conversion_paths",
    "path_outcome",
    "channel_path",
    "paths",
    "persons",
    "revenue",
    "path_conversion_rate",
    "path_rank",
)
TIME_TO_ORDER = evidence("dim_persons", "first_touch_at", "first_order_at")

FUNNEL_STEPS = (
    ("funnel_visitors", "Visited"),
    ("funnel_product_viewers", "Viewed a product"),
    ("funnel_cart_adders", "Added to cart"),
    ("funnel_checkout_starters", "Started checkout"),
    ("funnel_buyers", "Ordered"),
)
FUNNEL_CHANNELS = 6
TOP_PATHS = 10
# Upper bounds (days, exclusive) of the time-to-first-order buckets; the last is open.
DAY_BUCKETS = (1, 3, 7, 14, 30, 60, 90, 180)


def transitions(warehouse: PublishedWarehouse) -> pl.DataFrame:
    """What followed the spells entered in the period, as of the data's end: phase,
    phase_rank, outcome ('forward' to a later phase, 're-entry' into the same or an earlier
    phase after a lapse, 'none' yet), next_phase, spells."""
    return warehouse.frame(
        f"""
        select
            spells.phase,
            spells.phase_rank,
            case
                when spells.next_phase is null then 'none'
                when next_phases.phase_rank > spells.phase_rank then 'forward'
                else 're-entry'
            end as outcome,
            spells.next_phase,
            count(*) as spells
        from marts.fct_journey_phases as spells
        {join_windows("spells.entered_at")}
        left join report_phases as next_phases
            on spells.next_phase = next_phases.phase
        where windows.period = 'current'
        group by all
        order by spells.phase_rank, outcome, spells.next_phase
        """
    )


def channel_funnels(warehouse: PublishedWarehouse) -> pl.DataFrame:
    """acquisition_channel and the five funnel steps, summed over the cohort months of the
    period, for the channels with the most visitors."""
    sums = ", ".join(f"sum({column}) as {column}" for column, _ in FUNNEL_STEPS)
    return warehouse.frame(
        f"""
        select funnels.acquisition_channel, {sums}
        from marts.kpi_conversion_by_channel as funnels
        inner join report_months as months on funnels.cohort_month = months.month
        where months.period = 'current'
        group by funnels.acquisition_channel
        having sum(funnel_visitors) > 0
        order by funnel_visitors desc, funnels.acquisition_channel
        limit {FUNNEL_CHANNELS}
        """
    )


def top_paths(warehouse: PublishedWarehouse) -> pl.DataFrame:
    """The most frequent channel paths to an order (all orders: the mart has no date)."""
    return warehouse.frame(
        f"""
        select channel_path, paths, persons, revenue, path_conversion_rate
        from marts.fct_conversion_paths
        where path_outcome = 'conversion'
        order by path_rank
        limit {TOP_PATHS}
        """
    )


def time_to_first_order(warehouse: PublishedWarehouse) -> pl.DataFrame:
    """period, bucket, bucket_order, buyers: persons whose first order fell in the period, by
    days from their first touchpoint to it; with the median per period (median_days)."""
    cases = " ".join(f"when days < {upper} then {index}" for index, upper in enumerate(DAY_BUCKETS))
    labels = bucket_labels()
    frame = warehouse.frame(
        f"""
        with buyers as (
            select
                windows.period,
                date_diff('second', persons.first_touch_at, persons.first_order_at) / 86400.0
                    as days
            from marts.dim_persons as persons
            {join_windows("persons.first_order_at")}
            where persons.first_touch_at is not null
        )
        select
            period,
            case {cases} else {len(DAY_BUCKETS)} end as bucket_order,
            count(*) as buyers,
            any_value(median_days) as median_days
        from (select *, median(days) over (partition by period) as median_days from buyers)
        group by all
        order by period, bucket_order
        """
    )
    return frame.with_columns(
        pl.col("bucket_order")
        .replace_strict(list(range(len(labels))), labels, return_dtype=pl.String)
        .alias("bucket")
    )


def bucket_labels() -> list[str]:
    """'< 1 d', '1–3 d', …, '180+ d': the buckets of `time_to_first_order`, in order."""
    bounds = [0, *DAY_BUCKETS]
    return [
        f"{lower}–{upper} d" if upper > 1 else "< 1 d"
        for lower, upper in zip(bounds, DAY_BUCKETS, strict=False)
    ] + [f"{DAY_BUCKETS[-1]}+ d"]
