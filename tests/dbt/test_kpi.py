"""Headline KPI figures recomputed independently in Polars from the ground truth and drop files."""

from __future__ import annotations

import polars as pl
import pytest

from tests.dbt.conftest import BuiltWarehouse


def _truth(built: BuiltWarehouse, name: str) -> pl.DataFrame:
    return pl.read_parquet(built.truth_dir / f"{name}.parquet")


def _kept(frame: pl.DataFrame, built: BuiltWarehouse) -> pl.DataFrame:
    return frame.filter(pl.col("person_key") != built.erased_person_key)


def _orders(built: BuiltWarehouse) -> pl.DataFrame:
    orders = _kept(_truth(built, "orders"), built)
    return orders.filter(~pl.col("is_test") & ~pl.col("is_cancelled"))


def test_overall_conversion_rate_and_revenue(built: BuiltWarehouse) -> None:
    touchpoints = _kept(_truth(built, "touchpoints"), built)
    persons = touchpoints["person_key"].n_unique()
    buyers = _orders(built)["person_key"].n_unique()
    mine = built.query(
        """
        select sum(persons) as persons, sum(buyers) as buyers, sum(revenue) as revenue,
               sum(new_customer_orders) as new_orders, sum(orders) as orders
        from marts.kpi_conversion_by_channel
        """
    ).row(0, named=True)
    assert mine["buyers"] == buyers
    assert float(mine["buyers"] / mine["persons"]) == pytest.approx(buyers / persons, abs=0.01)
    assert float(mine["revenue"]) == pytest.approx(_orders(built)["total_price"].sum(), abs=0.005)
    assert mine["orders"] == _orders(built).height
    assert mine["new_orders"] == _orders(built)["is_first_order"].sum()


def test_net_promoter_score_equals_truth(built: BuiltWarehouse) -> None:
    responses = pl.read_csv(
        built.dataset / "drop" / "nps_responses" / "*.csv", schema_overrides={"comment": pl.String}
    )
    answered = _kept(_truth(built, "touchpoints"), built).filter(
        pl.col("touchpoint_type") == "nps_response"
    )
    scores = responses.join(answered, left_on="response_id", right_on="record_id")["score"]
    assert scores.len() >= 5
    truth_nps = 100 * ((scores >= 9).sum() - (scores <= 6).sum()) / scores.len()
    mine = built.query(
        """
        select cast(sum(nps_responses) as bigint) as responses,
               cast(sum(nps_promoters) as bigint) as promoters,
               cast(sum(nps_detractors) as bigint) as detractors
        from marts.kpi_loyalty
        """
    ).row(0, named=True)
    assert mine["responses"] == scores.len()
    assert 100 * (mine["promoters"] - mine["detractors"]) / mine["responses"] == pytest.approx(
        truth_nps
    )
    cohort_nps = built.query(
        "select count(*) from marts.kpi_loyalty where nps_responses > 0 and abs(net_promoter_score - "
        "100.0 * (nps_promoters - nps_detractors) / nps_responses) > 1e-9"
    ).item()
    assert cohort_nps == 0


def test_loyalty_customers_and_repeat_buyers_equal_truth(built: BuiltWarehouse) -> None:
    per_person = _orders(built).group_by("person_key").len()
    mine = built.query(
        "select sum(customers), sum(repeat_customers), sum(orders) from marts.kpi_loyalty"
    ).row(0)
    assert mine == (
        per_person.height,
        per_person.filter(pl.col("len") >= 2).height,
        per_person["len"].sum(),
    )
    month_zero = built.query(
        "select count(*) from marts.kpi_retention_cohorts "
        "where months_since_first_order = 0 and active_customers <> customers"
    ).item()
    assert month_zero == 0


def test_awareness_sessions_and_visitors_equal_truth(built: BuiltWarehouse) -> None:
    erased_devices = _truth(built, "identities").filter(
        (pl.col("person_key") == built.erased_person_key)
        & (pl.col("identifier_kind") == "web_visitor_id")
    )["identifier_value"]
    sessions = _truth(built, "sessions").filter(~pl.col("visitor_id").is_in(erased_devices))
    mine = built.query(
        "select sum(sessions), sum(new_visitors), sum(page_views) from marts.kpi_awareness_daily"
    ).row(0)
    assert mine == (
        sessions.height,
        sessions["visitor_id"].n_unique(),
        sessions["page_views"].sum(),
    )


def test_acquisition_spend_and_new_customers(built: BuiltWarehouse) -> None:
    spend = pl.read_csv(built.dataset / "drop" / "marketing_spend" / "*.csv")["spend"].sum()
    mine = built.query(
        "select sum(spend), sum(new_customers), sum(leads) from marts.kpi_acquisition_by_channel"
    ).row(0)
    assert float(mine[0]) == pytest.approx(spend, abs=0.005)
    first_orders = built.query("select count(*) from marts.fct_orders where is_first_order").item()
    assert mine[1] == pytest.approx(first_orders)
    assert mine[2] > 10
    no_spend = built.query(
        "select count(*) from marts.kpi_acquisition_by_channel "
        "where spend is null and customer_acquisition_cost is not null"
    ).item()
    assert no_spend == 0
