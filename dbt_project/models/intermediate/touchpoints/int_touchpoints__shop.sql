{#- Shop touchpoints (contracts §6.1) of every shop source (Shopify, file drops): orders (not
    test, not cancelled), cancelled orders, checkouts started, and referrals (an order using the
    code REF-<customer id>: a touchpoint of the referrer, whose person is that of the customer
    record of the order's source). Orders (int_orders_unioned) and checkouts take their channel
    from their arrival (int_shop_arrivals_classified, shared with fct_orders). -#}

with

orders as (
    select * from {{ ref('int_orders_unioned') }}
    where not is_test
),

arrival_channels as (
    select * from {{ ref('int_shop_arrivals_classified') }}
),

shop_records as (
    select
        source,
        'orders' as stream,
        order_id as record_id,
        case when is_cancelled then 'order_cancelled' else 'order' end as touchpoint_type,
        case when is_cancelled then cancelled_at else created_at end as touchpoint_at,
        total_price,
        _extracted_at
    from orders
    {%- for source_name in ['shopify', 'filedrop'] %}
        union all
        select
            '{{ source_name }}' as source,
            'checkouts' as stream,
            checkout_id as record_id,
            'checkout_started' as touchpoint_type,
            created_at as touchpoint_at,
            total_price,
            _extracted_at
        from {{ ref('stg_' ~ source_name ~ '__checkouts') }}
    {%- endfor %}
),

records_with_channel as (
    select
        shop_records.*,
        arrival_channels.channel,
        arrival_channels.traffic_source,
        arrival_channels.traffic_medium,
        arrival_channels.campaign
    from shop_records
    left join arrival_channels
        on
            shop_records.source = arrival_channels.source
            and shop_records.stream = arrival_channels.stream
            and shop_records.record_id = arrival_channels.record_id
),

referrals as (
    select
        source,
        order_id,
        created_at,
        _extracted_at,
        referral_code,
        {{ normalised_identifier('shop_customer_id', 'substring(referral_code, 5)') }} as referrer_shop_customer_id
    from orders
    where length(referral_code) > 4
),

final as (
    select
        {{ touchpoint_columns('source', 'stream', 'record_id', 'touchpoint_type', "''", 'touchpoint_at',
                              'channel', 'traffic_source', 'traffic_medium', 'campaign', 'total_price') }}
    from records_with_channel
    where touchpoint_at is not null
    union all
    select
        {{ touchpoint_columns('source', "'orders'", 'order_id', "'referral'", 'referrer_shop_customer_id', 'created_at',
                              "'Referral Programme'", "'referral_code'", "'referral'", 'referral_code',
                              person_record_stream="'customers'",
                              person_record_id='referrer_shop_customer_id') }}
    from referrals
    where created_at is not null
)

select * from final
