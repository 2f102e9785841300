{#- Shopify's own order arithmetic (contracts §1.3, "Shopify's order arithmetic"), per order, in
    the shop currency, from the order's parts:

        subtotal_price = merchandise line items (price x quantity, tips excluded)
                         - the discounts allocated to those lines
        total_price    = subtotal_price
                         + shipping (shipping lines' prices - their discount allocations)
                         + total_tax, unless the prices include it (taxes_included)
                         + tips (total_tip_received)
                         + duties (original_total_duties_set), unless the prices include them
                         + additional fees (original_total_additional_fees_set)

    Each side is compared with what Shopify reports (subtotal_gap, total_price_gap); the mart
    suite of fct_orders blocks the publish when either is off by a cent or more. Fallbacks for
    payloads that lack a part: an order without any discount allocation on its lines takes its
    line discounts from total_discounts (less the shipping discounts); one without shipping
    lines takes its shipping from total_shipping_price_set; one without total_tip_received takes
    its tip lines; one without subtotal_price adds up its total from the line arithmetic. Refunds are not part of this arithmetic (they are money back later, counted
    in int_orders_unioned). -#}

with

orders as (
    select * from {{ ref('stg_shopify__orders') }}
),

line_totals as (
    select
        order_id,
        sum(case when not is_tip then price * quantity else 0 end) as merchandise_price,
        sum(case when is_tip then price * quantity else 0 end) as tip_lines_price,
        sum(case when not is_tip then discount_amount else 0 end) as line_discount_allocations,
        sum(discount_allocation_count) as discount_allocation_count,
        sum(tax_amount) as line_tax_amount,
        sum(duty_amount) as line_duty_amount
    from {{ ref('stg_shopify__order_lines') }}
    group by order_id
),

shipping_totals as (
    select
        order_id,
        sum(price) as shipping_lines_price,
        sum(discount_amount) as shipping_discount_amount,
        sum(tax_amount) as shipping_tax_amount
    from {{ ref('stg_shopify__order_shipping_lines') }}
    group by order_id
),

parts as (
    select
        orders.order_id,
        orders.is_taxes_included,
        orders.is_duties_included,
        orders.currency,
        orders.presentment_currency,
        orders.total_price,
        orders.presentment_total_price,
        orders.subtotal_price,
        orders.total_discounts,
        orders.total_tax,
        coalesce(line_totals.merchandise_price, 0) as merchandise_price,
        coalesce(shipping_totals.shipping_discount_amount, 0) as shipping_discount_amount,
        case
            when coalesce(line_totals.discount_allocation_count, 0) > 0
                then line_totals.line_discount_allocations
            else coalesce(orders.total_discounts, 0) - coalesce(shipping_totals.shipping_discount_amount, 0)
        end as line_discount_amount,
        coalesce(
            shipping_totals.shipping_lines_price - shipping_totals.shipping_discount_amount,
            orders.total_shipping_price,
            0
        ) as shipping_price,
        coalesce(line_totals.line_tax_amount, 0) as line_tax_amount,
        coalesce(orders.total_tip_received, line_totals.tip_lines_price, 0) as total_tip_received,
        coalesce(orders.total_duties, line_totals.line_duty_amount, 0) as total_duties,
        coalesce(orders.total_additional_fees, 0) as total_additional_fees
    from orders
    left join line_totals on orders.order_id = line_totals.order_id
    left join shipping_totals on orders.order_id = shipping_totals.order_id
),

arithmetic as (
    select
        *,
        merchandise_price - line_discount_amount as expected_subtotal_price,
        coalesce(subtotal_price, merchandise_price - line_discount_amount)
        + shipping_price
        + case when is_taxes_included then 0 else coalesce(total_tax, 0) end
        + total_tip_received
        + case when is_duties_included then 0 else total_duties end
        + total_additional_fees as expected_total_price
    from parts
),

final as (
    select
        *,
        subtotal_price - expected_subtotal_price as subtotal_gap,
        total_price - expected_total_price as total_price_gap
    from arithmetic
)

select * from final
