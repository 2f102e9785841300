{#- One row per person of the identity map: first touch and acquisition channel, current phase,
    orders and revenue (the non-cancelled orders of fct_orders), latest CSAT and NPS, segment and
    identifier counts. -#}

with

identity_map as (
    select * from {{ source('identity', 'identity_map') }}
),

touchpoints as (
    select * from {{ ref('fct_touchpoints') }}
    where person_id is not null
),

current_phases as (
    select
        person_id,
        phase as current_phase,
        entered_at as current_phase_entered_at
    from {{ ref('fct_journey_phases') }}
    where is_current
),

orders as (
    select
        person_id,
        min(created_at) as first_order_at,
        max(created_at) as last_order_at,
        count(*) as orders,
        sum(total_price) as revenue,
        sum(refunded_amount) as refunded_amount,
        min(currency) as currency
    from {{ ref('fct_orders') }}
    where
        not is_cancelled
        and person_id is not null
    group by person_id
),

identifiers as (
    select
        person_id,
        count(*) as identifiers,
        count(case when identifier_kind = 'web_visitor_id' then 1 end) as web_visitor_ids,
        count(case when identifier_kind = 'web_user_id' then 1 end) as web_user_ids,
        count(case when identifier_kind = 'email' then 1 end) as emails,
        count(case when identifier_kind = 'email_subscriber_id' then 1 end) as email_subscriber_ids,
        count(case when identifier_kind = 'shop_customer_id' then 1 end) as shop_customer_ids,
        count(case when identifier_kind = 'checkout_token' then 1 end) as checkout_tokens,
        count(case when identifier_kind = 'support_requester_id' then 1 end) as support_requester_ids,
        count(case when identifier_kind = 'phone' then 1 end) as phones,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at
    from identity_map
    group by person_id
),

ranked_touchpoints as (
    select
        person_id,
        occurred_at,
        channel,
        touchpoint_type,
        touchpoint_score,
        row_number() over (partition by person_id order by occurred_at, touchpoint_id) as first_rank,
        row_number() over (
            partition by person_id, touchpoint_type order by occurred_at desc, touchpoint_id desc
        ) as latest_of_type_rank
    from touchpoints
),

touch_summary as (
    select
        person_id,
        min(occurred_at) as first_touch_at,
        max(occurred_at) as last_touch_at,
        count(*) as touchpoints,
        max(case when first_rank = 1 then channel end) as acquisition_channel,
        max(case when first_rank = 1 then touchpoint_type end) as first_touchpoint_type,
        max(case
            when touchpoint_type = 'csat_response' and latest_of_type_rank = 1
                then case when touchpoint_score = 1 then 'good' else 'bad' end
        end) as latest_csat,
        max(case when touchpoint_type = 'nps_response' and latest_of_type_rank = 1 then touchpoint_score end) as latest_nps
    from ranked_touchpoints
    group by person_id
),

final as (
    select
        identifiers.person_id,
        touch_summary.first_touch_at,
        touch_summary.last_touch_at,
        touch_summary.acquisition_channel,
        touch_summary.first_touchpoint_type,
        coalesce(touch_summary.touchpoints, 0) as touchpoints,
        current_phases.current_phase,
        current_phases.current_phase_entered_at,
        orders.first_order_at,
        orders.last_order_at,
        coalesce(orders.orders, 0) as orders,
        {{ money('coalesce(orders.revenue, 0)') }} as revenue,
        {{ money('coalesce(orders.refunded_amount, 0)') }} as refunded_amount,
        orders.currency,
        touch_summary.latest_csat,
        touch_summary.latest_nps,
        case
            when coalesce(orders.orders, 0) >= 2 then 'repeat'
            when coalesce(orders.orders, 0) = 1 then 'new'
            else 'prospect'
        end as segment,
        identifiers.identifiers,
        identifiers.web_visitor_ids,
        identifiers.web_user_ids,
        identifiers.emails,
        identifiers.email_subscriber_ids,
        identifiers.shop_customer_ids,
        identifiers.checkout_tokens,
        identifiers.support_requester_ids,
        identifiers.phones,
        identifiers.identifiers = identifiers.web_visitor_ids + identifiers.checkout_tokens as is_anonymous,
        identifiers.first_seen_at,
        identifiers.last_seen_at
    from identifiers
    left join touch_summary
        on identifiers.person_id = touch_summary.person_id
    left join current_phases
        on identifiers.person_id = current_phases.person_id
    left join orders
        on identifiers.person_id = orders.person_id
)

select * from final
