{#- Amounts are in the shop currency (`currency`): the plain field, else the shop-money side of
    its `*_set` bag (contracts §1.3). The presentment currency and total are kept beside. -#}

with

parsed as (
    {{ parsed_landed_records('shopify', 'orders', stream_structure('shopify', 'orders'), 'shop_order') }}
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
        lower(shop_order.cancel_reason) as cancel_reason,
        lower(shop_order.financial_status) as financial_status,
        lower(shop_order.fulfillment_status) as fulfillment_status,
        coalesce(shop_order.test, false) as is_test,
        shop_order.cancelled_at is not null as is_cancelled,
        shop_order.currency,
        coalesce(
            shop_order.presentment_currency, shop_order.total_price_set.presentment_money.currency_code
        ) as presentment_currency,
        coalesce(shop_order.taxes_included, false) as is_taxes_included,
        coalesce(shop_order.duties_included, false) as is_duties_included,
        {{ money_amount('shop_order.total_price', 'shop_order.total_price_set') }} as total_price,
        {{ money_amount('shop_order.subtotal_price', 'shop_order.subtotal_price_set') }} as subtotal_price,
        {{ money_amount('shop_order.total_line_items_price', 'shop_order.total_line_items_price_set') }}
            as total_line_items_price,
        {{ money_amount('shop_order.total_discounts', 'shop_order.total_discounts_set') }} as total_discounts,
        {{ money_amount('shop_order.total_tax', 'shop_order.total_tax_set') }} as total_tax,
        {{ money_amount('shop_order.total_tip_received') }} as total_tip_received,
        {{ money_amount('shop_order.total_shipping_price_set.shop_money.amount') }} as total_shipping_price,
        {{ money_amount('shop_order.original_total_duties_set.shop_money.amount') }} as total_duties,
        {{ money_amount('shop_order.current_total_duties_set.shop_money.amount') }} as current_total_duties,
        {{ money_amount('shop_order.original_total_additional_fees_set.shop_money.amount') }}
            as total_additional_fees,
        {{ money_amount('shop_order.total_price_set.presentment_money.amount') }} as presentment_total_price,
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
