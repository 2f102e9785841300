{%- set order_structure = {
    'id': 'string',
    'line_items': [{'id': 'string', 'product_id': 'string', 'variant_id': 'string', 'title': 'string',
                    'quantity': 'bigint', 'price': 'string', 'sku': 'string'}],
} -%}

with

parsed as (
    {{ parsed_landed_records('shopify', 'orders', order_structure, 'shop_order') }}
),

final as (
    select
        {{ surrogate_key(['parsed.record_id', 'line_index']) }} as order_line_key,
        parsed.record_id as order_id,
        cast(line_index as integer) as line_index,
        line.id as order_line_id,
        line.product_id,
        line.variant_id,
        line.title as product_title,
        line.sku,
        line.quantity,
        {{ dbt.safe_cast('line.price', 'decimal(18, 2)') }} as price,
        parsed._extracted_at
    from parsed
    {{ unnest_with_index('parsed.shop_order.line_items', 'line', 'line_index') }}
)

select * from final
