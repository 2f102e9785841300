with

parsed as (
    {{ parsed_landed_records('shopify', 'orders', stream_structure('shopify', 'orders'), 'shop_order') }}
),

final as (
    select
        {{ surrogate_key(['parsed.record_id', 'code_index']) }} as order_discount_code_id,
        parsed.record_id as order_id,
        cast(code_index as integer) as code_index,
        trim(discount.code) as discount_code,
        {{ money_amount('discount.amount') }} as discount_amount,
        lower(discount.type) as discount_type,
        parsed._extracted_at
    from parsed
    {{ unnest_with_index('parsed.shop_order.discount_codes', 'discount', 'code_index') }}
)

select * from final
