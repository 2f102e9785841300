with

parsed as (
    {{ parsed_landed_records('shopify', 'customers', stream_structure('shopify', 'customers'), 'customer') }}
),

final as (
    select
        record_id as shop_customer_id,
        customer.email,
        customer.phone,
        customer.first_name,
        customer.last_name,
        {{ iso_to_utc_timestamp('customer.created_at') }} as created_at,
        {{ iso_to_utc_timestamp('customer.updated_at') }} as updated_at,
        customer.orders_count,
        {{ money_amount('customer.total_spent') }} as total_spent,
        lower(customer.state) as customer_state,
        coalesce(customer.verified_email, false) as has_verified_email,
        customer.tags,
        record_updated_at,
        _extracted_at,
        _run_id
    from parsed
)

select * from final
