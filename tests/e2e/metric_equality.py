"""Each MetricFlow metric against the KPI mart column it must equal, at the mart's grain.

`KPI_METRICS` lists, per published table, its grain as MetricFlow group-by items (with the
mart's column each one is) and the metrics with the column each equals. `differences` runs one
`mf query` per table (every metric of it at once) and returns the rows where a metric and its
column differ (`metric_differences`). No pytest here: the e2e test and a developer's shell both use it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.warehouse.metrics import query_metrics


@dataclass(frozen=True)
class MartMetrics:
    relation: str  # a published table, or a query over one
    grain: dict[str, str]  # MetricFlow group-by item -> the relation's column
    metrics: dict[str, str]  # metric -> the relation's column it equals
    zero_when_absent: tuple[str, ...] = ()  # counts: no MetricFlow row means 0
    money_ratios: tuple[str, ...] = ()  # the mart rounds them to the cent; MetricFlow does not


def _grouped(table: str, time: str, grain: str, columns: dict[str, str], channel: str = "") -> str:
    by = f"date_trunc('{grain}', {time})::date as {grain}" + (
        f", {channel} as channel" if channel else ""
    )
    selected = ", ".join(f"{expression} as {name}" for name, expression in columns.items())
    group = "1, 2" if channel else "1"
    return f"(select {by}, {selected} from {table} group by {group})"


DAY_CHANNEL = {"metric_time__day": "activity_date", "channel": "channel"}
MONTH_CHANNEL = {"metric_time__month": "activity_month", "channel": "channel"}
COHORT_CHANNEL = {"metric_time__month": "cohort_month", "channel": "acquisition_channel"}

KPI_METRICS = (
    MartMetrics(
        "marts.kpi_awareness_daily",
        DAY_CHANNEL,
        {
            "visitors": "visitors",
            "new_visitors": "new_visitors",
            "sessions": "sessions",
            "engagement_rate": "engagement_rate",
            "seconds_per_key_page_view": "seconds_per_key_page_view",
            "key_page_click_through_rate": "key_page_click_through_rate",
            "campaign_sessions": "campaign_sessions",
            "form_submits": "form_submits",
            "email_open_rate": "email_open_rate",
            "email_click_through_rate": "email_click_through_rate",
        },
        ("visitors", "new_visitors", "sessions", "campaign_sessions", "form_submits"),
    ),
    MartMetrics(
        "marts.kpi_acquisition_by_channel",
        MONTH_CHANNEL,
        {
            "leads": "leads",
            "form_completion_rate": "form_completion_rate",
            "leads_per_session": "leads_per_session",
            "new_customers": "new_customers",
            "marketing_spend": "spend",
            "customer_acquisition_cost": "customer_acquisition_cost",
            "cost_per_lead": "cost_per_lead",
        },
        ("leads", "new_customers"),
        ("customer_acquisition_cost", "cost_per_lead"),
    ),
    MartMetrics(
        "marts.kpi_conversion_by_channel",
        COHORT_CHANNEL,
        {
            "conversion_rate": "conversion_rate",
            "visitor_to_product_view_rate": "visitor_to_product_view_rate",
            "product_view_to_cart_rate": "product_view_to_cart_rate",
            "cart_to_checkout_rate": "cart_to_checkout_rate",
            "checkout_to_order_rate": "checkout_to_order_rate",
            "visitor_to_order_rate": "visitor_to_order_rate",
            "average_order_value": "average_order_value",
            "cohort_revenue": "revenue",
            "new_customer_revenue": "new_customer_revenue",
            "repeat_customer_revenue": "repeat_customer_revenue",
        },
        ("cohort_revenue", "new_customer_revenue", "repeat_customer_revenue"),
        ("average_order_value",),
    ),
    MartMetrics(
        "marts.kpi_loyalty",
        {"metric_time__month": "cohort_month"},
        {
            "repeat_customer_rate": "repeat_customer_rate",
            "orders_per_customer": "orders_per_customer",
            "repurchase_rate_in_window": "repurchase_rate_in_window",
            "csat_rate": "csat_rate",
            "net_promoter_score": "net_promoter_score",
            "nps_promoters": "nps_promoters",
            "nps_detractors": "nps_detractors",
            "nps_responses": "nps_responses",
            "positive_reviews": "positive_reviews",
            "positive_review_rate": "positive_review_rate",
            "referral_participation_rate": "referral_participation_rate",
        },
        ("nps_promoters", "nps_detractors", "nps_responses", "positive_reviews"),
    ),
    MartMetrics(
        _grouped(
            "marts.fct_orders",
            "created_at",
            "month",
            {
                "orders": "count(*)",
                "revenue": "sum(case when not is_cancelled then total_price else 0 end)",
                "net_revenue": "sum(net_revenue)",
            },
            "channel",
        ),
        {"metric_time__month": "month", "channel": "channel"},
        {"orders": "orders", "revenue": "revenue", "net_revenue": "net_revenue"},
    ),
    MartMetrics(
        _grouped(
            "marts.fct_support_tickets",
            "created_at",
            "month",
            {
                "tickets": "count(*)",
                "csat_rate": "count(case when csat_score = 'good' then 1 end)::double "
                "/ nullif(count(csat_score), 0)",
            },
        ),
        {"metric_time__month": "month"},
        {"support_tickets": "tickets", "ticket_csat_rate": "csat_rate"},
    ),
    MartMetrics(
        _grouped(
            "marts.dim_persons",
            "first_touch_at",
            "month",
            {"persons": "count(*)"},
            "acquisition_channel",
        ),
        {"metric_time__month": "month", "channel": "channel"},
        {"persons": "persons"},
    ),
)


def metric_differences(warehouse: Path, mart: MartMetrics) -> list[tuple]:
    """(metric, grain values..., MetricFlow's value, the mart's value) where they differ (more
    than 1e-9 relative; half a cent for a money ratio the mart rounds), over the union of both
    sides' rows."""
    found = query_metrics(warehouse, list(mart.metrics), list(mart.grain))
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"attach '{warehouse}' as published (read_only)")
        con.execute("use published")
        con.register("metricflow", found)
        keys = list(mart.grain.items())
        time_items = [item for item, _ in keys if item.startswith("metric_time")]
        mf_keys = ", ".join(
            f"cast(cast(metricflow.{item} as timestamp) as date) as k{i}"
            if item in time_items
            else f"metricflow.{item} as k{i}"
            for i, (item, _) in enumerate(keys)
        )
        mart_keys = ", ".join(f"mart.{column} as k{i}" for i, (_, column) in enumerate(keys))
        join = " and ".join(f"m.k{i} is not distinct from t.k{i}" for i in range(len(keys)))
        rows = []
        for metric, column in mart.metrics.items():
            zero = metric in mart.zero_when_absent
            left = "coalesce(m.v, 0)" if zero else "m.v"
            right = "coalesce(t.v, 0)" if zero else "t.v"
            tolerance = (
                "0.005 + 1e-9" if metric in mart.money_ratios else "1e-9 * greatest(1, abs(t.v))"
            )
            rows += con.execute(
                f"""
                with m as (select {mf_keys}, cast(metricflow.{metric} as double) as v from metricflow),
                t as (select {mart_keys}, cast(mart.{column} as double) as v from {mart.relation} as mart)
                select '{metric}', {", ".join(f"coalesce(m.k{i}, t.k{i})" for i in range(len(keys)))},
                    m.v, t.v
                from m full outer join t on {join}
                where not (
                    ({left} is null and {right} is null)
                    or abs({left} - {right}) <= {tolerance}
                )
                """
            ).fetchall()
        return rows
    finally:
        con.close()
