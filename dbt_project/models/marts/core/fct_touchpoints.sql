{#- One row per touchpoint (contracts §6.1) with its person, channel and phase. -#}

with

touchpoints as (
    select * from {{ ref('int_touchpoints_phased') }}
),

{#- An order's or checkout's value is in the shop currency (one per shop). -#}
shop_currency as (
    select min(currency) as currency from {{ ref('int_orders_unioned') }}
),

final as (
    select
        touchpoints.touchpoint_id,
        touchpoints.person_id,
        touchpoints.occurred_at,
        {{ local_date('touchpoints.occurred_at') }} as occurred_local_date,
        touchpoints.source,
        touchpoints.stream,
        touchpoints.record_id,
        touchpoints.touchpoint_type,
        touchpoints.channel,
        touchpoints.traffic_source,
        touchpoints.traffic_medium,
        touchpoints.campaign,
        touchpoints.touchpoint_value,
        case when touchpoints.touchpoint_value is not null then shop_currency.currency end as currency,
        touchpoints.touchpoint_score,
        touchpoints.phase,
        touchpoints.phase_rank,
        touchpoints.is_customer
    from touchpoints
    cross join shop_currency
)

select * from final
