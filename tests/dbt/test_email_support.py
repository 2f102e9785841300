"""Email engagement, email-attributed orders and support tickets against ground truth."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from tests.dbt.conftest import BuiltWarehouse
from tests.dbt.test_orders import exact_persons


def _truth_touchpoints(built: BuiltWarehouse, *types: str) -> pl.DataFrame:
    listed = ", ".join(f"'{t}'" for t in types)
    return built.query(
        f"""
        select person_key, record_id, touchpoint_type, timezone('UTC', occurred_at) as occurred_at
        from {built.truth("touchpoints")}
        where touchpoint_type in ({listed}) and person_key <> '{built.erased_person_key}'
        """
    )


def test_email_engagement_counts_equal_truth(built: BuiltWarehouse) -> None:
    truth = (
        _truth_touchpoints(built, "email_sent", "email_open", "email_click", "email_unsubscribe")
        .group_by("touchpoint_type")
        .len()
    )
    expected = dict(truth.iter_rows())
    mine = built.query(
        """
        select
            -- recipients of campaigns sent in one go (seed email_campaign_types; file drops: sent)
            sum(case when coalesce(campaign_type, 'regular') in ('regular', 'plaintext', 'rss')
                then sends else 0 end) as email_sent,
            sum(opens) as email_open,
            sum(clicks) as email_click,
            count(case when is_unsubscribed then 1 end) as email_unsubscribe
        from marts.fct_email_engagement
        """
    ).row(0, named=True)
    assert {name: int(value) for name, value in mine.items()} == expected
    first_clicks = built.query(
        "select count(*) from marts.fct_email_engagement where is_clicked <> (clicks > 0) "
        "or (is_clicked and first_clicked_at is null)"
    ).item()
    assert first_clicks == 0


def test_orders_after_an_email_click_are_email_attributed(built: BuiltWarehouse) -> None:
    """Truth: an order with a click by the same person in the 7 days before it."""
    clicks = _truth_touchpoints(built, "email_click").select(
        "person_key",
        clicked_at="occurred_at",
        campaign_id=pl.col("record_id").str.split(":").list.first(),
    )
    orders = built.query(
        f"""
        select order_id, person_key, timezone('UTC', created_at) as created_at
        from {built.truth("orders")}
        where not is_test and not is_cancelled and person_key <> '{built.erased_person_key}'
        """
    )
    exact = built.query(exact_persons(built))
    in_window = (
        orders.join(exact, on="person_key")
        .join(clicks, on="person_key")
        .filter(
            (pl.col("clicked_at") <= pl.col("created_at"))
            & (pl.col("clicked_at") >= pl.col("created_at") - timedelta(days=7))
        )
    )
    truth_orders = set(in_window["order_id"])
    assert len(truth_orders) >= 3
    mine = built.query("select * from marts.fct_email_attributed_orders")
    assert truth_orders <= set(mine["order_id"])
    # Where the last email touch is a click, its campaign is the truth's last click.
    last_clicks = (
        in_window.sort("clicked_at").group_by("order_id").agg(pl.col("campaign_id").last())
    )
    by_click = mine.filter(pl.col("attributed_touch_type") == "email_click").join(
        last_clicks, on="order_id", suffix="_truth"
    )
    assert by_click.height >= 1
    assert (by_click["campaign_id"] == by_click["campaign_id_truth"]).all()
    # An order attributed by a click has a click in the window (for exactly resolved persons).
    exact_orders = set(orders.join(exact, on="person_key")["order_id"])
    clicked = set(mine.filter(pl.col("attributed_touch_type") == "email_click")["order_id"])
    assert clicked & exact_orders <= truth_orders


def test_support_tickets_equal_truth_and_carry_the_true_phase(built: BuiltWarehouse) -> None:
    tickets = _truth_touchpoints(built, "ticket_created")
    mine = built.query("select * from marts.fct_support_tickets")
    assert set(mine["ticket_id"]) == set(tickets["record_id"])
    spells = built.query(
        f"select person_key, phase, timezone('UTC', entered_at) as entered_at from {built.truth('phases')}"
    ).sort("entered_at")
    exact = built.query(exact_persons(built))
    truth_phase = (
        tickets.join(exact, on="person_key")
        .sort("occurred_at")
        .join_asof(
            spells,
            left_on="occurred_at",
            right_on="entered_at",
            by="person_key",
            strategy="backward",
            check_sortedness=False,
        )
        .select(ticket_id="record_id", truth_phase="phase")
    )
    compared = truth_phase.join(mine.select("ticket_id", "phase_at_ticket"), on="ticket_id")
    assert compared.height >= 0.9 * tickets.height
    assert (compared["truth_phase"] == compared["phase_at_ticket"]).all()
    by_csat = built.query("select sum(tickets) from marts.kpi_support_repurchase_by_csat").item()
    assert by_csat == mine.filter(pl.col("is_customer_at_ticket")).height > 0


def test_deleted_and_merged_tickets_are_counted_and_leave_the_support_marts(
    built: BuiltWarehouse,
) -> None:
    """The tickets the vendor deleted (status `deleted`) or closed by a merge (tag
    `closed_by_merge`; status `merged` in the file drop) are in fct_removed_records, with the
    ratings of the deleted ones, and in no other mart."""
    latest = f"""
        select record_id, record::json as record from read_parquet('{built.dataset}/vendor/zendesk/tickets.parquet')
        qualify row_number() over (partition by record_id order by updated_at desc) = 1
    """
    expected = built.query(
        f"""
        select record_id, case when record ->> 'status' = 'deleted' then 'deleted' else 'merged' end as reason
        from ({latest})
        where record ->> 'status' = 'deleted'
            or list_contains(from_json(record -> 'tags', '["VARCHAR"]'), 'closed_by_merge')
        """
    )
    assert set(expected["reason"]) == {"deleted", "merged"}
    removed = built.query(
        "select record_id, removal_reason as reason from marts.fct_removed_records where stream = 'tickets'"
    )
    assert sorted(removed.rows()) == sorted(expected.rows())
    ids = "', '".join(expected["record_id"])
    leaked = built.query(
        f"""
        select 'fct_support_tickets' as mart, ticket_id from marts.fct_support_tickets
        where ticket_id in ('{ids}')
        union all
        select 'fct_touchpoints', record_id from marts.fct_touchpoints
        where stream = 'tickets' and record_id in ('{ids}')
        """
    )
    assert leaked.height == 0
    deleted_ratings = built.query(
        f"""
        select record_id from read_parquet('{built.dataset}/vendor/zendesk/satisfaction_ratings.parquet')
        where record::json ->> 'ticket_id' in (select record_id from ({latest}) where record ->> 'status' = 'deleted')
        """
    )
    removed_ratings = built.query(
        "select record_id from marts.fct_removed_records where stream = 'satisfaction_ratings'"
    )
    assert sorted(removed_ratings["record_id"]) == sorted(deleted_ratings["record_id"].unique())
    assert removed_ratings.height >= 1  # this dataset has a ticket rated, then deleted
    rated = built.query(
        """
        select removed.record_id from marts.fct_removed_records as removed
        inner join marts.fct_touchpoints as touchpoints
            on touchpoints.stream = removed.stream and touchpoints.record_id = removed.record_id
        """
    )
    assert rated.height == 0
