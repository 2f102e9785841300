"""Support in the journey: tickets, CSAT and first-reply time per phase, and whether customers
buy again after a ticket.

Repurchase after a ticket is compared with repurchase after an order without any ticket in
the following days: the share of reference events (a customer's ticket; an order of a
customer who raised no ticket in the next N days) followed by a non-cancelled order within N
days. Only events whose N-day window had passed by the data's end (the latest touchpoint)
count, so the figure covers the whole history rather than the period: in a period at the end
of the data no window is complete yet. N is the warehouse's `repurchase_window_days`.
"""

from __future__ import annotations

import polars as pl

from pipelines.report.period import join_windows
from pipelines.report.reader import PublishedWarehouse, evidence

TICKETS = evidence(
    "fct_support_tickets", "phase_at_ticket", "created_at", "csat_score", "first_reply_minutes"
)
REPURCHASE_TICKETS = evidence(
    "fct_support_tickets", "person_id", "created_at", "is_customer_at_ticket", "csat_score",
    "next_order_at",
)  # fmt: skip
REPURCHASE_ORDERS = evidence("fct_orders", "order_id", "person_id", "created_at", "is_cancelled")
DATA_END = evidence("fct_touchpoints", "occurred_at")


def ticket_figures(warehouse: PublishedWarehouse) -> pl.DataFrame:
    """period, phase (at the ticket; '(none)' without a spell), tickets, rated, good,
    median_first_reply_minutes."""
    return warehouse.frame(
        f"""
        select
            windows.period,
            coalesce(tickets.phase_at_ticket, '(none)') as phase,
            count(*) as tickets,
            count(tickets.csat_score) as rated,
            count(case when tickets.csat_score = 'good' then 1 end) as good,
            median(tickets.first_reply_minutes) as median_first_reply_minutes
        from marts.fct_support_tickets as tickets
        {join_windows("tickets.created_at")}
        group by all
        """
    )


def repurchase_after_ticket(warehouse: PublishedWarehouse, window_days: int) -> pl.DataFrame:
    """reference ('ticket rated good' / 'ticket rated bad' / 'ticket, not rated' /
    'order, no ticket'), events, repurchased, repurchase_rate."""
    return warehouse.frame(
        """
        with
        data_end as (
            select max(occurred_at) as data_end_at from marts.fct_touchpoints
        ),
        tickets as (
            select * from marts.fct_support_tickets where person_id is not null
        ),
        orders as (
            select
                person_id,
                created_at,
                lead(created_at) over (
                    partition by person_id order by created_at, order_id
                ) as next_order_at
            from marts.fct_orders
            where not is_cancelled and person_id is not null
        ),
        after_tickets as (
            select
                case coalesce(tickets.csat_score, 'none')
                    when 'good' then 'ticket rated good'
                    when 'bad' then 'ticket rated bad'
                    else 'ticket, not rated'
                end as reference,
                tickets.next_order_at
                    < tickets.created_at + to_days(cast($days as integer)) as is_repurchased
            from tickets
            cross join data_end
            where
                tickets.is_customer_at_ticket
                and tickets.created_at + to_days(cast($days as integer)) <= data_end.data_end_at
        ),
        after_orders as (
            select
                'order, no ticket' as reference,
                orders.next_order_at
                    < orders.created_at + to_days(cast($days as integer)) as is_repurchased
            from orders
            cross join data_end
            where
                orders.created_at + to_days(cast($days as integer)) <= data_end.data_end_at
                and not exists (
                    select 1 from tickets
                    where
                        tickets.person_id = orders.person_id
                        and tickets.created_at >= orders.created_at
                        and tickets.created_at < orders.created_at + to_days(cast($days as integer))
                )
        ),
        events as (
            select * from after_tickets
            union all
            select * from after_orders
        )
        select
            reference,
            count(*) as events,
            count(case when is_repurchased then 1 end) as repurchased,
            repurchased / count(*) as repurchase_rate
        from events
        group by reference
        order by reference
        """,
        {"days": window_days},
    )
