{#- Shop touchpoints (contracts §6.1): orders (not test, not cancelled), cancelled orders,
    referrals (an order using the code REF-<customer id>: a touchpoint of the referrer) and
    checkouts started. Orders and checkouts take their channel from the UTM parameters of
    `landing_site`, else from `referring_site` like a web referrer, else Direct (§6.6):
    int_shop_arrivals_classified, shared with the commerce marts. -#}

with

orders as (
    select * from {{ ref('stg_shopify__orders') }}
    where not is_test
),

checkouts as (
    select * from {{ ref('stg_shopify__checkouts') }}
),

arrival_channels as (
    select * from {{ ref('int_shop_arrivals_classified') }}
    where source = 'shopify'
),

orders_with_channel as (
    select
        orders.*,
        arrival_channels.channel,
        arrival_channels.traffic_source,
        arrival_channels.traffic_medium,
        arrival_channels.campaign,
        case when orders.is_cancelled then 'order_cancelled' else 'order' end as touchpoint_type,
        case when orders.is_cancelled then orders.cancelled_at else orders.created_at end as touchpoint_at
    from orders
    left join arrival_channels
        on
            arrival_channels.stream = 'orders'
            and orders.order_id = arrival_channels.record_id
),

checkouts_with_channel as (
    select
        checkouts.*,
        arrival_channels.channel,
        arrival_channels.traffic_source,
        arrival_channels.traffic_medium,
        arrival_channels.campaign
    from checkouts
    left join arrival_channels
        on
            arrival_channels.stream = 'checkouts'
            and checkouts.checkout_id = arrival_channels.record_id
),

referrals as (
    select
        orders.order_id,
        orders.created_at,
        orders._extracted_at,
        discount_codes.discount_code,
        trim(substring(discount_codes.discount_code, 5)) as referrer_shop_customer_id
    from orders
    inner join {{ ref('stg_shopify__order_discount_codes') }} as discount_codes
        on orders.order_id = discount_codes.order_id
    where
        upper(substring(discount_codes.discount_code, 1, 4)) = 'REF-'
        and length(discount_codes.discount_code) > 4
),

final as (
    select
        {{ touchpoint_columns('shopify', 'orders', 'order_id', 'touchpoint_type', "''", 'touchpoint_at',
                              'channel', 'traffic_source', 'traffic_medium', 'campaign', 'total_price') }}
    from orders_with_channel
    where touchpoint_at is not null
    union all
    select
        {{ touchpoint_columns('shopify', 'orders', 'order_id', "'referral'", 'referrer_shop_customer_id', 'created_at',
                              "'Referral Programme'", "'referral_code'", "'referral'", 'discount_code',
                              person_record_stream='customers',
                              person_record_id='referrer_shop_customer_id') }}
    from referrals
    where created_at is not null
    union all
    select
        {{ touchpoint_columns('shopify', 'checkouts', 'checkout_id', "'checkout_started'", "''", 'created_at',
                              'channel', 'traffic_source', 'traffic_medium', 'campaign', 'total_price') }}
    from checkouts_with_channel
    where created_at is not null
)

select * from final
