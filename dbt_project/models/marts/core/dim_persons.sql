{#- One row per person of the identity map: first touch and acquisition channel, current phase,
    orders and revenue (the non-cancelled orders of fct_orders), latest CSAT and NPS, segment and
    identifier counts.

    Incremental by person (affected_persons_config on person_id, driver int_affected_dim_persons:
    the persons int_affected_persons lists and the persons whose identifiers changed). Closed: a
    person's row depends only on that person's identifiers (identity_map), touchpoints
    (fct_touchpoints), current phase spell (fct_journey_phases) and orders (fct_orders); the
    last three change only for persons int_affected_persons lists (their touchpoints — orders
    among them — changed or moved), and identifier changes (an identifier without touchpoints,
    a person with none at all, a person merged away) are found by comparing identity_map's
    summary with the row dim_persons holds. A person merged away or erased is in the driver under
    its old id, so its row is deleted and, having no identifiers left, not inserted again. No
    lookback by time: an affected person's row is rebuilt from its whole history. -#}
{{ config(**affected_persons_config('person_id', driver='int_affected_dim_persons')) }}
-- depends_on: {{ ref('int_affected_dim_persons') }}


with

every_identifier as (
    select * from {{ source('identity', 'identity_map') }}
),

identity_map as (
    {{ rows_to_build('every_identifier', 'person_id', driver='int_affected_dim_persons') }}
),

every_touchpoint as (
    select * from {{ ref('fct_touchpoints') }}
    where person_id is not null
),

touchpoints as (
    {{ rows_to_build('every_touchpoint', 'person_id', driver='int_affected_dim_persons') }}
),

every_current_phase as (
    select
        person_id,
        phase as current_phase,
        entered_at as current_phase_entered_at
    from {{ ref('fct_journey_phases') }}
    where is_current
),

current_phases as (
    {{ rows_to_build('every_current_phase', 'person_id', driver='int_affected_dim_persons') }}
),

every_order as (
    select * from {{ ref('fct_orders') }}
    where
        not is_cancelled
        and person_id is not null
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
    from ({{ rows_to_build('every_order', 'person_id', driver='int_affected_dim_persons') }}) as affected_orders
    group by person_id
),

identifiers as (
    {{ person_identifier_summary('identity_map') }}
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
        identifiers.last_seen_at{{ affected_person_bucket_column('identifiers.person_id') }}  -- noqa: LT02
    from identifiers
    left join touch_summary
        on identifiers.person_id = touch_summary.person_id
    left join current_phases
        on identifiers.person_id = current_phases.person_id
    left join orders
        on identifiers.person_id = orders.person_id
)

select * from final
