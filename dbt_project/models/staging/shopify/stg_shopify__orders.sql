{%- set order_structure = {
    'id': 'string', 'name': 'string', 'email': 'string', 'contact_email': 'string',
    'created_at': 'string', 'updated_at': 'string', 'processed_at': 'string',
    'cancelled_at': 'string', 'cancel_reason': 'string', 'financial_status': 'string',
    'fulfillment_status': 'string', 'test': 'boolean', 'currency': 'string',
    'total_price': 'string', 'subtotal_price': 'string', 'total_discounts': 'string', 'total_tax': 'string',
    'landing_site': 'string', 'referring_site': 'string', 'source_name': 'string',
    'checkout_token': 'string', 'cart_token': 'string',
    'customer': {'id': 'string', 'email': 'string', 'created_at': 'string', 'updated_at': 'string',
                 'first_name': 'string', 'last_name': 'string'},
} -%}

with

parsed as (
    {{ parsed_landed_records('shopify', 'orders', order_structure, 'shop_order') }}
),

final as (
    select
        record_id as order_id,
        shop_order.name as order_name,
        shop_order.customer.id as shop_customer_id,
        shop_order.email,
        shop_order.contact_email,
        shop_order.customer.email as customer_email,
        {{ iso_to_utc_timestamp('shop_order.created_at') }} as created_at,
        {{ iso_to_utc_timestamp('shop_order.updated_at') }} as updated_at,
        {{ iso_to_utc_timestamp('shop_order.processed_at') }} as processed_at,
        {{ iso_to_utc_timestamp('shop_order.cancelled_at') }} as cancelled_at,
        shop_order.cancel_reason,
        lower(shop_order.financial_status) as financial_status,
        lower(shop_order.fulfillment_status) as fulfillment_status,
        coalesce(shop_order.test, false) as is_test,
        shop_order.cancelled_at is not null as is_cancelled,
        shop_order.currency,
        {{ dbt.safe_cast('shop_order.total_price', 'decimal(18, 2)') }} as total_price,
        {{ dbt.safe_cast('shop_order.subtotal_price', 'decimal(18, 2)') }} as subtotal_price,
        {{ dbt.safe_cast('shop_order.total_discounts', 'decimal(18, 2)') }} as total_discounts,
        {{ dbt.safe_cast('shop_order.total_tax', 'decimal(18, 2)') }} as total_tax,
        shop_order.landing_site,
        shop_order.referring_site,
        shop_order.source_name,
        shop_order.checkout_token,
        shop_order.cart_token,
        record_updated_at,
        _extracted_at,
        _run_id
    from parsed
)

select * from final
