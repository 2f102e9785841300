{#- One row per touchpoint (contracts §6.1) with its person, channel and phase.

    Incremental by person (affected_persons_config on person_id, driver int_affected_persons).
    Closed: a row is its touchpoint's row of int_touchpoints_phased (incremental by the same
    affected groups) plus the shop currency; int_touchpoints_phased changes only the rows of the
    persons int_affected_persons lists, so only those persons' rows can change. Rebuilt every
    night (`always`): touchpoints without a person (their group is their record, not a person
    id) and touchpoints with a value (orders and checkouts), whose currency is the shop's — a
    global figure (the currency of the orders) that no person's change reveals. No lookback by
    time: an affected person's whole history is rebuilt. -#}
{%- set always = 'person_id is null or touchpoint_value is not null' %}
{{ config(**affected_persons_config('person_id', always=always)) }}
-- depends_on: {{ ref('int_affected_persons') }}

with

phased_touchpoints as (
    select * from {{ ref('int_touchpoints_phased') }}
),

touchpoints as (
    {{ rows_to_build('phased_touchpoints', 'person_id', always) }}
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
        touchpoints.is_customer{{ affected_person_bucket_column('touchpoints.person_id', always) }}  -- noqa: LT02
    from touchpoints
    cross join shop_currency
)

select * from final
