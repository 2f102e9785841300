with

parsed as (
    {{ parsed_landed_records('shopify', 'checkouts', stream_structure('shopify', 'checkouts'), 'checkout') }}
),

final as (
    select
        record_id as checkout_id,
        checkout.token as checkout_token,
        checkout.cart_token,
        checkout.customer.id as shop_customer_id,
        checkout.email,
        checkout.customer.email as customer_email,
        {{ iso_to_utc_timestamp('checkout.created_at') }} as created_at,
        {{ iso_to_utc_timestamp('checkout.updated_at') }} as updated_at,
        {{ iso_to_utc_timestamp('checkout.completed_at') }} as completed_at,
        checkout.completed_at is not null as is_completed,
        checkout.landing_site,
        checkout.referring_site,
        {{ money_amount('checkout.total_price') }} as total_price,
        checkout.currency,
        record_updated_at,
        _extracted_at,
        _run_id
    from parsed
)

select * from final
