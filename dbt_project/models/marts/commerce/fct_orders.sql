{#- One row per order (Shopify and file-dropped; test orders and the records of erased persons
    left out) with its person, its place in the person's order history, where the buyer came
    from, discount and referral codes, and revenue net of refunds.

    Revenue is the order's total_price in the shop currency: what the buyer was charged —
    merchandise after every discount, plus shipping, taxes added at checkout, tips, duties and
    additional fees (Shopify's own arithmetic, int_shopify_orders_reconciled; the parts are
    published beside it). Refunds are the money given back later; net_revenue = total_price -
    refunded_amount, and 0 for a cancelled order (DECISIONS.md, "What revenue means").

    Order history counts the person's non-cancelled orders by (created_at, order_id): the first
    of them is the first order (contracts §6.2: the order that makes a customer); a cancelled
    order has no sequence number and is never a first order. An order whose person is unknown
    (its anchor identifier was blocked) stands alone: new customer, sequence 1. -#}

with

orders as (
    select * from {{ ref('int_orders_unioned') }}
    where not is_test
),

arrivals as (
    select * from {{ ref('int_shop_arrivals_classified') }}
    where stream = 'orders'
),

record_persons as (
    select * from {{ ref('int_record_persons') }}
),

kept_orders as (
    select
        orders.*,
        order_persons.person_id,
        {{ normalised_identifier('shop_customer_id', 'substring(orders.referral_code, 5)') }} as referrer_shop_customer_id
    from orders
    left join record_persons as order_persons
        on
            orders.source = order_persons.source
            and order_persons.stream = 'orders'
            and orders.order_id = order_persons.record_id
    where not coalesce(order_persons.is_suppressed, false)
),

referrers as (
    select
        record_persons.source,
        record_persons.record_id as referrer_shop_customer_id,
        record_persons.person_id as referrer_person_id
    from record_persons
    where
        record_persons.stream = 'customers'
        and not record_persons.is_suppressed
),

sequenced as (
    select
        *,
        coalesce(sum(case when is_cancelled then 0 else 1 end) over (
            partition by coalesce(person_id, {{ dbt.concat(["'order:'", 'order_id']) }})
            order by created_at, order_id
            rows between unbounded preceding and 1 preceding
        ), 0) as earlier_orders
    from kept_orders
),

final as (
    select
        sequenced.order_id,
        sequenced.source,
        sequenced.order_name,
        sequenced.person_id,
        case when not sequenced.is_cancelled then cast(sequenced.earlier_orders + 1 as integer) end as order_sequence,
        not sequenced.is_cancelled and sequenced.earlier_orders = 0 as is_first_order,
        case when sequenced.earlier_orders = 0 then 'new' else 'repeat' end as customer_type,
        sequenced.created_at,
        cast(sequenced.created_at as date) as created_date,
        {{ local_date('sequenced.created_at') }} as created_local_date,
        sequenced.cancelled_at,
        sequenced.is_cancelled,
        sequenced.financial_status,
        sequenced.currency,
        sequenced.presentment_currency,
        {{ money('sequenced.presentment_total_price') }} as presentment_total_price,
        sequenced.is_taxes_included,
        {{ money('sequenced.subtotal_price') }} as subtotal_price,
        {{ money('sequenced.total_discounts') }} as total_discounts,
        {{ money('sequenced.shipping_price') }} as shipping_price,
        {{ money('sequenced.total_tax') }} as total_tax,
        {{ money('sequenced.total_tip_received') }} as total_tip_received,
        {{ money('sequenced.total_duties') }} as total_duties,
        {{ money('sequenced.total_additional_fees') }} as total_additional_fees,
        {{ money('sequenced.total_price') }} as total_price,
        {{ money('sequenced.refunded_amount') }} as refunded_amount,
        {{ money('case when sequenced.is_cancelled then 0 else sequenced.total_price - sequenced.refunded_amount end') }}
            as net_revenue,
        sequenced.discount_codes,
        sequenced.referral_code,
        sequenced.referrer_shop_customer_id,
        referrers.referrer_person_id,
        arrivals.utm_source,
        arrivals.utm_medium,
        arrivals.utm_campaign,
        arrivals.referring_site,
        arrivals.traffic_source,
        arrivals.traffic_medium,
        arrivals.channel
    from sequenced
    left join arrivals
        on
            sequenced.source = arrivals.source
            and sequenced.order_id = arrivals.record_id
    left join referrers
        on
            sequenced.source = referrers.source
            and sequenced.referrer_shop_customer_id = referrers.referrer_shop_customer_id
)

select * from final
