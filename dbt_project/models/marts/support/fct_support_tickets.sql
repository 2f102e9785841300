{#- One row per support ticket of every support source (Zendesk, file drops;
    int_support_tickets_unioned; records of erased persons left out): who raised it, in which
    journey phase they were (the person's phase spell at created_at, fct_journey_phases: the
    spell entered at or before the ticket and not yet exited; the ticket itself is phase
    evidence, so it can open that spell), first reply and resolution times (calendar minutes),
    reopens, the satisfaction rating (the latest rating of the ticket, else the rating on the
    ticket), and whether the person bought again within `repurchase_window_days` after the
    ticket. Tickets the support tool deleted or merged into another ticket are not support
    requests of their own and are left out (int_support_tickets_unioned.removal_reason; counted
    in fct_removed_records). -#}

{%- set window_days = var('repurchase_window_days') -%}

with

tickets as (
    select * from {{ ref('int_support_tickets_unioned') }}
    where removal_reason is null
),

record_persons as (
    select
        source,
        record_id as ticket_id,
        person_id,
        is_suppressed
    from {{ ref('int_record_persons') }}
    where stream = 'tickets'
),

ratings as (
    select
        source,
        ticket_id,
        satisfaction_score,
        created_at,
        row_number() over (
            partition by source, ticket_id order by created_at desc, satisfaction_rating_id desc
        ) as rating_rank
    from {{ ref('int_satisfaction_ratings_unioned') }}
    where satisfaction_score in ('good', 'bad')
),

spells as (
    select * from {{ ref('fct_journey_phases') }}
),

orders as (
    select
        person_id,
        created_at
    from {{ ref('fct_orders') }}
    where
        not is_cancelled
        and person_id is not null
),

as_of as (
    select max(occurred_at) as as_of_at from {{ ref('fct_touchpoints') }}
),

person_tickets as (
    select
        tickets.*,
        record_persons.person_id
    from tickets
    left join record_persons
        on
            tickets.source = record_persons.source
            and tickets.ticket_id = record_persons.ticket_id
    where not coalesce(record_persons.is_suppressed, false)
),

order_history as (
    select
        person_tickets.source,
        person_tickets.ticket_id,
        max(case when orders.created_at < person_tickets.created_at then 1 else 0 end) = 1 as is_customer_at_ticket,
        min(case when orders.created_at > person_tickets.created_at then orders.created_at end) as next_order_at
    from person_tickets
    inner join orders
        on person_tickets.person_id = orders.person_id
    group by person_tickets.source, person_tickets.ticket_id
),

final as (
    select
        person_tickets.ticket_id,
        person_tickets.source,
        person_tickets.person_id,
        person_tickets.created_at,
        {{ local_date('person_tickets.created_at') }} as created_local_date,
        person_tickets.ticket_status,
        person_tickets.ticket_type,
        person_tickets.priority,
        person_tickets.via_channel,
        spells.phase as phase_at_ticket,
        spells.journey_phase_spell_id,
        coalesce(order_history.is_customer_at_ticket, false) as is_customer_at_ticket,
        person_tickets.replies,
        person_tickets.first_reply_minutes,
        person_tickets.first_resolution_minutes,
        person_tickets.full_resolution_minutes,
        person_tickets.solved_at,
        coalesce(person_tickets.reopens, 0) as reopens,
        coalesce(person_tickets.reopens, 0) > 0 as is_reopened,
        case
            when ratings.satisfaction_score is not null then ratings.satisfaction_score
            when person_tickets.satisfaction_score in ('good', 'bad') then person_tickets.satisfaction_score
        end as csat_score,
        ratings.created_at as rated_at,
        order_history.next_order_at,
        coalesce(
            order_history.next_order_at <= {{ dbt.dateadd('day', window_days, 'person_tickets.created_at') }},
            false
        ) as has_repurchase_in_window,
        {{ dbt.dateadd('day', window_days, 'person_tickets.created_at') }} <= as_of.as_of_at as is_window_complete
    from person_tickets
    cross join as_of
    left join spells
        on
            person_tickets.person_id = spells.person_id
            and person_tickets.created_at >= spells.entered_at
            and person_tickets.created_at < {{ open_end('spells.exited_at') }}
    left join ratings
        on
            person_tickets.source = ratings.source
            and person_tickets.ticket_id = ratings.ticket_id
            and ratings.rating_rank = 1
    left join order_history
        on
            person_tickets.source = order_history.source
            and person_tickets.ticket_id = order_history.ticket_id
)

select * from final
