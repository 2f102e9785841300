"""The KPIs of each phase, from the KPI marts, for the period and the previous one.

One registry (`KPIS`) says for every KPI its family (which phase it belongs to is decided in
`phases.py`), its mart, how it aggregates over the mart's rows (a sum, or a ratio of sums, so
days and months add up exactly instead of averaging averages), the columns it reads (its
provenance) and whether higher is better. `kpi_measures` runs one query per mart with both
periods.

Daily marts are cut at the period's days; monthly marts (cohort or activity months) are read
for the months at least half inside the period (`Period.months`), which the page states.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.report.compare import Change, Kind, Measure
from pipelines.report.period import Period, join_windows
from pipelines.report.reader import Evidence, PublishedWarehouse, evidence


@dataclass(frozen=True)
class Mart:
    table: str
    time_expression: str
    grain: str  # "day" or "month"
    time_columns: tuple[str, ...]
    filter: str = "true"
    window_name: str = "months"


@dataclass(frozen=True)
class Kpi:
    key: str
    family: str
    mart: Mart
    label: str
    numerator: str
    denominator: str | None
    columns: tuple[str, ...]
    kind: Kind
    better: int
    definition: str

    @property
    def evidence(self) -> Evidence:
        return evidence(self.mart.table, *self.mart.time_columns, *self.columns)


AWARENESS = Mart("kpi_awareness_daily", "activity_date", "day", ("activity_date",))
ACQUISITION = Mart("kpi_acquisition_by_channel", "activity_month", "month", ("activity_month",))
CONVERSION = Mart(
    "kpi_conversion_by_channel",
    "cohort_month",
    "month",
    ("cohort_month",),
    window_name="first-touch cohort months",
)
RETENTION = Mart(
    "kpi_retention_cohorts",
    "cast(cohort_month + to_months(months_since_first_order) as date)",
    "month",
    ("cohort_month", "months_since_first_order"),
    "months_since_first_order > 0",
    "order months",
)
LOYALTY = Mart(
    "kpi_loyalty",
    "cohort_month",
    "month",
    ("cohort_month",),
    window_name="first-order cohort months",
)


def _kpi(key, family, mart, label, numerator, denominator, columns, kind, better, definition):
    return Kpi(key, family, mart, label, numerator, denominator, columns, kind, better, definition)


KPIS: tuple[Kpi, ...] = (
    _kpi("sessions", "awareness", AWARENESS, "Web sessions", "sum(sessions)", None,
         ("sessions",), "count", 1, "Sessions started in the period, all entry channels"),
    _kpi("new_visitors", "awareness", AWARENESS, "New visitors", "sum(new_visitors)", None,
         ("new_visitors",), "count", 1, "Devices whose first session in the data falls in the period"),
    _kpi("engagement_rate", "awareness", AWARENESS, "Engaged sessions", "sum(engaged_sessions)",
         "sum(sessions)", ("engaged_sessions", "sessions"), "rate", 1,
         "Sessions with 2+ page views, 10 s or a form submit / add to cart, of all sessions"),
    _kpi("key_page_click_through_rate", "awareness", AWARENESS, "Click-through to key pages",
         "sum(key_page_click_through_rate * sessions)", "sum(sessions)",
         ("key_page_click_through_rate", "sessions"), "rate", 1,
         "Sessions that went on to a product, pricing, case-study or comparison page"),
    _kpi("email_open_rate", "awareness", AWARENESS, "Email open rate",
         "sum(email_recipients_opened)", "sum(emails_delivered)",
         ("email_recipients_opened", "emails_delivered"), "rate", 1,
         "Recipients of the period's campaigns who opened, of those delivered to"),
    _kpi("leads", "acquisition", ACQUISITION, "Leads", "sum(leads)", None, ("leads",), "count", 1,
         "Persons whose first lead event (newsletter or lead form, before any order) falls in the months"),
    _kpi("form_completion_rate", "acquisition", ACQUISITION, "Form completion",
         "sum(sessions_with_form_submit)", "sum(sessions)",
         ("sessions_with_form_submit", "sessions"), "rate", 1,
         "Sessions with a form submission, of all sessions"),
    _kpi("customer_acquisition_cost", "acquisition", ACQUISITION, "CAC", "sum(spend)",
         "sum(case when spend is not null then new_customers end)", ("spend", "new_customers"),
         "money", -1, "Marketing spend per new customer (channels with a spend file only)"),
    _kpi("conversion_rate", "conversion", CONVERSION, "Cohort conversion", "sum(buyers)",
         "sum(persons)", ("buyers", "persons"), "rate", 1,
         "Persons first touched in the months who bought, of all first touched then"),
    _kpi("visitor_to_order_rate", "conversion", CONVERSION, "Visitor → order", "sum(funnel_buyers)",
         "sum(funnel_visitors)", ("funnel_buyers", "funnel_visitors"), "rate", 1,
         "Web visitors of the cohort who ordered"),
    _kpi("average_order_value", "conversion", CONVERSION, "Average order value", "sum(revenue)",
         "sum(orders)", ("revenue", "orders"), "money", 1,
         "Revenue per non-cancelled order of the cohort's persons"),
    _kpi("returning_customers", "retention", RETENTION, "Returning customers",
         "sum(active_customers)", None, ("active_customers",), "count", 1,
         "Customers from earlier first-order months who ordered again in the months"),
    _kpi("retention_rate", "retention", RETENTION, "Retention rate", "sum(active_customers)",
         "sum(customers)", ("active_customers", "customers"), "rate", 1,
         "Of the customers acquired before each month, the share who ordered in it"),
    _kpi("repeat_customer_rate", "loyalty", LOYALTY, "Repeat customers", "sum(repeat_customers)",
         "sum(customers)", ("repeat_customers", "customers"), "rate", 1,
         "Customers of the first-order cohort with 2+ orders"),
    _kpi("positive_review_rate", "loyalty", LOYALTY, "Positive reviews", "sum(positive_reviews)",
         "sum(reviews)", ("positive_reviews", "reviews"), "rate", 1,
         "Reviews rated 4-5 by the cohort's customers"),
    _kpi("referral_participation_rate", "loyalty", LOYALTY, "Referral participation",
         "sum(referrers)", "sum(customers)", ("referrers", "customers"), "rate", 1,
         "Customers of the cohort whose referral code was used"),
)  # fmt: skip


def kpi_measures(warehouse: PublishedWarehouse, period: Period) -> dict[str, list[Measure]]:
    """KPI family -> its KPIs as measures (current vs previous). A KPI whose mart or columns
    are missing is left out; `missing_kpi_sources` says which."""
    measures: dict[str, list[Measure]] = {}
    for mart in dict.fromkeys(kpi.mart for kpi in KPIS):
        kpis = [kpi for kpi in KPIS if kpi.mart == mart and not warehouse.missing([kpi.evidence])]
        if not kpis:
            continue
        values = _query(warehouse, mart, kpis)
        window = _window_text(mart, period)
        for kpi in kpis:
            current, previous = (values.get((kpi.key, name)) for name in ("current", "previous"))
            measures.setdefault(kpi.family, []).append(
                Measure(
                    key=kpi.key,
                    label=kpi.label,
                    change=Change(current, previous, kpi.kind, kpi.better),
                    evidence=(kpi.evidence,),
                    definition=kpi.definition,
                    window=window,
                )
            )
    return measures


def missing_kpi_sources(warehouse: PublishedWarehouse) -> list[str]:
    return warehouse.missing(kpi.evidence for kpi in KPIS)


def _window_text(mart: Mart, period: Period) -> str:
    if mart.grain == "day":
        return ""
    return f"{mart.window_name} {period.months_label()} vs {period.previous.months_label()}"


def _query(warehouse: PublishedWarehouse, mart: Mart, kpis: list[Kpi]) -> dict:
    """{(kpi key, 'current' | 'previous'): value} from one scan of the mart."""
    if mart.grain == "day":
        window_join = join_windows(mart.time_expression)
    else:
        window_join = (
            f"inner join report_months as windows on {mart.time_expression} = windows.month"
        )
    selects = []
    for kpi in kpis:
        value = (
            kpi.numerator
            if kpi.denominator is None
            else f"({kpi.numerator}) / nullif({kpi.denominator}, 0)"
        )
        selects.append(f"cast({value} as double) as {kpi.key}")
    frame = warehouse.frame(
        f"""
        select windows.period, {", ".join(selects)}
        from marts.{mart.table} as rows
        {window_join}
        where {mart.filter}
        group by windows.period
        """
    )
    long = frame.unpivot(index="period", variable_name="kpi", value_name="value")
    return {
        (kpi, name): value
        for kpi, name, value in zip(long["kpi"], long["period"], long["value"], strict=True)
    }
