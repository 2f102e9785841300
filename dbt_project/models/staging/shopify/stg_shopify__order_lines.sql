{#- A tip is a line item of its own (it carries tip_payment_gateway / tip_payment_method,
    contracts §1.3): is_tip marks it, so merchandise and tips can be told apart. The line's
    discount allocations, tax lines and duties are summed per line.

    Incremental (issue 17: rebuilt in full, the slowest model of a 100k-person night): the
    orders with a version landed after the watermark have all their lines replaced
    (group_replace_config on order_id). Every order has at least one line, so a new version
    never leaves lines of an older one behind. -#}
{{ config(**group_replace_config(['order_id'])) }}

with

parsed as (
    {{ parsed_landed_records('shopify', 'orders', stream_structure('shopify', 'orders'), 'shop_order') }}
),

lines as (
    select
        {{ surrogate_key(['parsed.record_id', 'line_index']) }} as order_line_key,
        parsed.record_id as order_id,
        cast(line_index as integer) as line_index,
        line,
        parsed._extracted_at
    from parsed
    {{ unnest_with_index('parsed.shop_order.line_items', 'line', 'line_index') }}
),

line_discounts as (
    {{ summed_list_amounts('lines', 'order_line_key', 'line.discount_allocations', 'amount', 'discount_amount',
                           money_set='amount_set', count_alias='discount_allocation_count') }}
),

line_taxes as (
    {{ summed_list_amounts('lines', 'order_line_key', 'line.tax_lines', 'price', 'tax_amount',
                           money_set='price_set') }}
),

line_duties as (
    {{ summed_list_amounts('lines', 'order_line_key', 'line.duties', 'shop_money.amount', 'duty_amount') }}
),

final as (
    select
        lines.order_line_key,
        lines.order_id,
        lines.line_index,
        lines.line.id as order_line_id,
        lines.line.product_id,
        lines.line.variant_id,
        lines.line.title as product_title,
        lines.line.sku,
        lines.line.quantity,
        {{ money_amount('lines.line.price', 'lines.line.price_set') }} as price,
        lines.line.tip_payment_gateway is not null or lines.line.tip_payment_method is not null as is_tip,
        coalesce(line_discounts.discount_amount, 0) as discount_amount,
        coalesce(line_discounts.discount_allocation_count, 0) as discount_allocation_count,
        coalesce(line_taxes.tax_amount, 0) as tax_amount,
        coalesce(line_duties.duty_amount, 0) as duty_amount,
        lines._extracted_at{{ group_bucket_column(['order_id'], 'lines') }}  -- noqa: LT02
    from lines
    left join line_discounts on lines.order_line_key = line_discounts.order_line_key
    left join line_taxes on lines.order_line_key = line_taxes.order_line_key
    left join line_duties on lines.order_line_key = line_duties.order_line_key
)

select * from final
