{#- Satisfaction and loyalty KPIs, one row per first-order cohort month (the month of a
    customer's first non-cancelled order): how many customers bought again and how often, and
    what the cohort's customers said (CSAT, NPS, reviews) and did (referrals), over all their
    history. Repurchase within `repurchase_window_days` counts only customers whose window has
    fully passed by the data's latest touchpoint. -#}

{%- set window_days = var('repurchase_window_days') -%}

with

orders as (
    select * from {{ ref('fct_orders') }}
    where
        not is_cancelled
        and person_id is not null
),

feedback as (
    select * from {{ ref('fct_touchpoints') }}
    where
        touchpoint_type in ('csat_response', 'nps_response', 'review')
        and person_id is not null
),

as_of as (
    select max(occurred_at) as as_of_at from {{ ref('fct_touchpoints') }}
),

customers as (
    select
        person_id,
        min(created_at) as first_order_at,
        count(*) as orders,
        sum(total_price) as revenue,
        min(currency) as currency,
        max(case when referral_code is not null and is_first_order then 1 else 0 end) as was_referred
    from orders
    group by person_id
),

second_orders as (
    select
        person_id,
        created_at as second_order_at
    from orders
    where order_sequence = 2
),

referrers as (
    select
        referrer_person_id as person_id,
        count(*) as referred_orders
    from orders
    where referrer_person_id is not null
    group by referrer_person_id
),

customer_feedback as (
    select
        person_id,
        count(case when touchpoint_type = 'csat_response' then 1 end) as csat_responses,
        count(case when touchpoint_type = 'csat_response' and touchpoint_score = 1 then 1 end) as csat_good,
        count(case when touchpoint_type = 'nps_response' then 1 end) as nps_responses,
        count(case when touchpoint_type = 'nps_response' and touchpoint_score >= 9 then 1 end) as nps_promoters,
        count(case when touchpoint_type = 'nps_response' and touchpoint_score <= 6 then 1 end) as nps_detractors,
        count(case when touchpoint_type = 'review' then 1 end) as reviews,
        count(case when touchpoint_type = 'review' and touchpoint_score >= 4 then 1 end) as positive_reviews
    from feedback
    group by person_id
),

cohort_customers as (
    select
        customers.*,
        {{ month_start('customers.first_order_at') }} as cohort_month,
        {{ dbt.dateadd('day', window_days, 'customers.first_order_at') }} <= as_of.as_of_at as is_window_complete,
        coalesce(
            second_orders.second_order_at <= {{ dbt.dateadd('day', window_days, 'customers.first_order_at') }},
            false
        ) as has_repurchase_in_window,
        coalesce(referrers.referred_orders, 0) as referred_orders,
        customer_feedback.csat_responses,
        customer_feedback.csat_good,
        customer_feedback.nps_responses,
        customer_feedback.nps_promoters,
        customer_feedback.nps_detractors,
        customer_feedback.reviews,
        customer_feedback.positive_reviews
    from customers
    cross join as_of
    left join second_orders
        on customers.person_id = second_orders.person_id
    left join referrers
        on customers.person_id = referrers.person_id
    left join customer_feedback
        on customers.person_id = customer_feedback.person_id
),

final as (
    select
        cohort_month,
        count(*) as customers,
        count(case when orders >= 2 then 1 end) as repeat_customers,
        {{ safe_ratio('count(case when orders >= 2 then 1 end)', 'count(*)') }} as repeat_customer_rate,
        cast(sum(orders) as {{ dbt.type_bigint() }}) as orders,
        {{ safe_ratio('sum(orders)', 'count(*)') }} as orders_per_customer,
        {{ money('sum(revenue)') }} as revenue,
        min(currency) as currency,
        count(case when is_window_complete then 1 end) as customers_with_complete_window,
        count(case when is_window_complete and has_repurchase_in_window then 1 end) as customers_repurchased_in_window,
        {{ safe_ratio(
            'count(case when is_window_complete and has_repurchase_in_window then 1 end)',
            'count(case when is_window_complete then 1 end)') }} as repurchase_rate_in_window,
        cast(coalesce(sum(csat_responses), 0) as {{ dbt.type_bigint() }}) as csat_responses,
        cast(coalesce(sum(csat_good), 0) as {{ dbt.type_bigint() }}) as csat_good,
        {{ safe_ratio('sum(csat_good)', 'sum(csat_responses)') }} as csat_rate,
        cast(coalesce(sum(nps_responses), 0) as {{ dbt.type_bigint() }}) as nps_responses,
        cast(coalesce(sum(nps_promoters), 0) as {{ dbt.type_bigint() }}) as nps_promoters,
        cast(coalesce(sum(nps_detractors), 0) as {{ dbt.type_bigint() }}) as nps_detractors,
        100 * {{ safe_ratio('sum(nps_promoters) - sum(nps_detractors)', 'sum(nps_responses)') }} as net_promoter_score,
        cast(coalesce(sum(reviews), 0) as {{ dbt.type_bigint() }}) as reviews,
        cast(coalesce(sum(positive_reviews), 0) as {{ dbt.type_bigint() }}) as positive_reviews,
        {{ safe_ratio('sum(positive_reviews)', 'sum(reviews)') }} as positive_review_rate,
        count(case when referred_orders > 0 then 1 end) as referrers,
        {{ safe_ratio('count(case when referred_orders > 0 then 1 end)', 'count(*)') }} as referral_participation_rate,
        count(case when was_referred = 1 then 1 end) as referred_customers
    from cohort_customers
    group by cohort_month
)

select * from final
