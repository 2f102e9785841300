{#- Retention cohorts, one row per first-order cohort month × months since the first order
    (0 = the cohort month itself) up to the latest month with any order: how many of the
    cohort's customers placed a non-cancelled order in that calendar month (0 when none did). -#}

with

orders as (
    select * from {{ ref('fct_orders') }}
    where
        not is_cancelled
        and person_id is not null
),

customer_orders as (
    select
        person_id,
        {{ month_start('created_at') }} as order_month,
        {{ month_start('min(created_at) over (partition by person_id)') }} as cohort_month
    from orders
),

cohorts as (
    select
        cohort_month,
        count(distinct person_id) as customers
    from customer_orders
    group by cohort_month
),

order_months as (
    select distinct order_month from customer_orders
),

activity as (
    select
        cohort_month,
        order_month,
        count(distinct person_id) as active_customers
    from customer_orders
    group by cohort_month, order_month
),

final as (
    select
        cohorts.cohort_month,
        cast({{ dbt.datediff('cohorts.cohort_month', 'order_months.order_month', 'month') }} as integer)
            as months_since_first_order,
        cohorts.customers,
        coalesce(activity.active_customers, 0) as active_customers,
        {{ safe_ratio('coalesce(activity.active_customers, 0)', 'cohorts.customers') }} as retention_rate
    from cohorts
    inner join order_months
        on cohorts.cohort_month <= order_months.order_month
    left join activity
        on
            cohorts.cohort_month = activity.cohort_month
            and order_months.order_month = activity.order_month
)

select * from final
