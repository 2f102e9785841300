"""Revenue per channel under each attribution model, and what sets each model apart.

Every model splits the same orders' revenue (an order's credits sum to 1 per model), so the
models differ only in which channels get it. `explanations` says in one line per model how it
splits credit and which channel it favours or penalises most against the linear model (the
even split, so the baseline every rule departs from).
"""

from __future__ import annotations

import polars as pl

from pipelines.report.period import join_windows
from pipelines.report.reader import PublishedWarehouse, evidence

ATTRIBUTION = evidence(
    "fct_attribution", "order_id", "order_created_at", "attribution_model", "channel",
    "attributed_revenue",
)  # fmt: skip
BASELINE_MODEL = "linear"
RULES = {
    "first_touch": "all credit to the session that opened the path",
    "last_touch": "all credit to the last session before the order",
    "last_non_direct": "all credit to the last session not arriving direct",
    "linear": "credit split evenly over the sessions",
    "time_decay": "more credit the closer a session is to the order",
    "position_based": "most credit to the first and last sessions, the rest shared",
    "markov": "credit by how many conversions are lost without the channel (removal effect)",
}


def revenue_by_model(warehouse: PublishedWarehouse) -> pl.DataFrame:
    """attribution_model, channel, revenue, orders (credited order count) for the orders
    placed in the period."""
    return warehouse.frame(
        f"""
        select
            attribution.attribution_model,
            attribution.channel,
            sum(attribution.attributed_revenue) as revenue,
            count(distinct attribution.order_id) as orders
        from marts.fct_attribution as attribution
        {join_windows("attribution.order_created_at")}
        where windows.period = 'current'
        group by all
        order by attribution.attribution_model, revenue desc, attribution.channel
        """
    )


def explanations(revenue: pl.DataFrame) -> pl.DataFrame:
    """attribution_model, line: one sentence per model (the baseline last)."""
    if revenue.is_empty():
        return pl.DataFrame(schema={"attribution_model": pl.String, "line": pl.String})
    models = revenue["attribution_model"].unique().sort().to_list()
    baseline = BASELINE_MODEL if BASELINE_MODEL in models else models[0]
    wide = (
        revenue.pivot(on="attribution_model", index="channel", values="revenue")
        .fill_null(0.0)
        .sort("channel")
    )
    lines = []
    for model in models:
        rule = RULES.get(model, "a custom rule")
        if model == baseline:
            lines.append((model, f"{model}: {rule} — the baseline the others are compared with."))
            continue
        difference = wide.select("channel", (pl.col(model) - pl.col(baseline)).alias("gain"))
        winner = difference.sort(["gain", "channel"], descending=[True, False]).row(0)
        loser = difference.sort(["gain", "channel"]).row(0)
        if abs(winner[1]) < 0.5 and abs(loser[1]) < 0.5:
            lines.append((model, f"{model}: {rule}; here the same split as {baseline}."))
            continue
        lines.append(
            (
                model,
                f"{model}: {rule}; favours {winner[0]} ({winner[1]:+,.0f} against {baseline}), "
                f"{loser[0]} loses most ({loser[1]:+,.0f}).",
            )
        )
    frame = pl.DataFrame(lines, schema=["attribution_model", "line"], orient="row")
    return frame.sort(pl.col("attribution_model") == baseline)
