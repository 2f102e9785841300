{#- Conversion KPIs, one row per cohort month (of the person's first touchpoint) × acquisition
    channel (the channel of that first touchpoint, dim_persons.acquisition_channel).

    Persons: persons with at least one touchpoint. Buyers: persons with a non-cancelled order.
    Web funnel, among persons with a web session (visitors): reached product view → add to cart
    → checkout → order, where reaching a step counts every later step too (an order passed the
    checkout even when no abandoned-checkout record exists). Sales are the non-cancelled orders
    of the cohort's persons, split by customer profile at order time (new: first order, repeat). -#}

with

persons as (
    select
        person_id,
        {{ month_start('first_touch_at') }} as cohort_month,
        acquisition_channel,
        first_touch_at,
        first_order_at,
        orders > 0 as is_buyer
    from {{ ref('dim_persons') }}
    where first_touch_at is not null
),

touchpoint_steps as (
    select
        person_id,
        max(case when touchpoint_type = 'product_view' then 1 else 0 end) as has_product_view,
        max(case when touchpoint_type = 'add_to_cart' then 1 else 0 end) as has_add_to_cart,
        max(case when touchpoint_type = 'checkout_started' then 1 else 0 end) as has_checkout
    from {{ ref('fct_touchpoints') }}
    where
        person_id is not null
        and touchpoint_type in ('product_view', 'add_to_cart', 'checkout_started')
    group by person_id
),

visitors as (
    select distinct person_id
    from {{ ref('fct_sessions') }}
    where person_id is not null
),

orders as (
    select * from {{ ref('fct_orders') }}
    where
        not is_cancelled
        and person_id is not null
),

funnel as (
    select
        persons.*,
        visitors.person_id is not null as is_visitor,
        case when persons.is_buyer then 1 else 0 end as reached_order,
        case when persons.is_buyer or coalesce(touchpoint_steps.has_checkout, 0) = 1 then 1 else 0 end
            as reached_checkout,
        case
            when
                persons.is_buyer or coalesce(touchpoint_steps.has_checkout, 0) = 1
                or coalesce(touchpoint_steps.has_add_to_cart, 0) = 1 then 1
            else 0
        end as reached_add_to_cart,
        case
            when
                persons.is_buyer or coalesce(touchpoint_steps.has_checkout, 0) = 1
                or coalesce(touchpoint_steps.has_add_to_cart, 0) = 1
                or coalesce(touchpoint_steps.has_product_view, 0) = 1 then 1
            else 0
        end as reached_product_view,
        {{ seconds_between('persons.first_touch_at', 'persons.first_order_at') }} / 86400.0 as days_to_convert
    from persons
    left join touchpoint_steps
        on persons.person_id = touchpoint_steps.person_id
    left join visitors
        on persons.person_id = visitors.person_id
),

person_metrics as (
    select
        cohort_month,
        acquisition_channel,
        count(*) as persons,
        count(case when reached_order = 1 then 1 end) as buyers,
        {{ median('days_to_convert') }} as median_days_to_convert,
        count(case when is_visitor then 1 end) as funnel_visitors,
        count(case when is_visitor and reached_product_view = 1 then 1 end) as funnel_product_viewers,
        count(case when is_visitor and reached_add_to_cart = 1 then 1 end) as funnel_cart_adders,
        count(case when is_visitor and reached_checkout = 1 then 1 end) as funnel_checkout_starters,
        count(case when is_visitor and reached_order = 1 then 1 end) as funnel_buyers
    from funnel
    group by cohort_month, acquisition_channel
),

sales as (
    select
        persons.cohort_month,
        persons.acquisition_channel,
        count(*) as orders,
        sum(orders.total_price) as revenue,
        sum(orders.net_revenue) as net_revenue,
        count(case when orders.customer_type = 'new' then 1 end) as new_customer_orders,
        sum(case when orders.customer_type = 'new' then orders.total_price else 0 end) as new_customer_revenue,
        count(case when orders.customer_type = 'repeat' then 1 end) as repeat_customer_orders,
        sum(case when orders.customer_type = 'repeat' then orders.total_price else 0 end) as repeat_customer_revenue,
        min(orders.currency) as currency
    from orders
    inner join persons
        on orders.person_id = persons.person_id
    group by persons.cohort_month, persons.acquisition_channel
),

final as (
    select
        person_metrics.cohort_month,
        person_metrics.acquisition_channel,
        person_metrics.persons,
        person_metrics.buyers,
        {{ safe_ratio('person_metrics.buyers', 'person_metrics.persons') }} as conversion_rate,
        person_metrics.median_days_to_convert,
        person_metrics.funnel_visitors,
        person_metrics.funnel_product_viewers,
        person_metrics.funnel_cart_adders,
        person_metrics.funnel_checkout_starters,
        person_metrics.funnel_buyers,
        {{ safe_ratio('person_metrics.funnel_product_viewers', 'person_metrics.funnel_visitors') }} as visitor_to_product_view_rate,
        {{ safe_ratio('person_metrics.funnel_cart_adders', 'person_metrics.funnel_product_viewers') }} as product_view_to_cart_rate,
        {{ safe_ratio('person_metrics.funnel_checkout_starters', 'person_metrics.funnel_cart_adders') }} as cart_to_checkout_rate,
        {{ safe_ratio('person_metrics.funnel_buyers', 'person_metrics.funnel_checkout_starters') }} as checkout_to_order_rate,
        {{ safe_ratio('person_metrics.funnel_buyers', 'person_metrics.funnel_visitors') }} as visitor_to_order_rate,
        coalesce(sales.orders, 0) as orders,
        {{ money('coalesce(sales.revenue, 0)') }} as revenue,
        {{ money('coalesce(sales.net_revenue, 0)') }} as net_revenue,
        {{ money(safe_ratio('sales.revenue', 'sales.orders')) }} as average_order_value,
        sales.currency,
        coalesce(sales.new_customer_orders, 0) as new_customer_orders,
        {{ money('coalesce(sales.new_customer_revenue, 0)') }} as new_customer_revenue,
        coalesce(sales.repeat_customer_orders, 0) as repeat_customer_orders,
        {{ money('coalesce(sales.repeat_customer_revenue, 0)') }} as repeat_customer_revenue
    from person_metrics
    left join sales
        on
            person_metrics.cohort_month = sales.cohort_month
            and person_metrics.acquisition_channel = sales.acquisition_channel
)

select * from final
