{#- Shop touchpoints (contracts §6.1): orders (not test, not cancelled), cancelled orders,
    referrals (an order using the code REF-<customer id>: a touchpoint of the referrer) and
    checkouts started. Orders and checkouts take their channel from the UTM parameters of
    `landing_site`, else from `referring_site` like a web referrer, else Direct (§6.6). -#}

with

orders as (
    select * from {{ ref('stg_shopify__orders') }}
    where not is_test
),

checkouts as (
    select * from {{ ref('stg_shopify__checkouts') }}
),

source_categories as (
    select lower(traffic_source) as traffic_source, lower(source_category) as source_category
    from {{ ref('traffic_source_categories') }}
),

arrivals as (
    select
        'orders' as stream,
        order_id as record_id,
        landing_site,
        referring_site
    from orders
    union all
    select
        'checkouts' as stream,
        checkout_id as record_id,
        landing_site,
        referring_site
    from checkouts
),

arrival_parameters as (
    select
        *,
        {{ url_parameter('landing_site', 'utm_source') }} as utm_source,
        {{ url_parameter('landing_site', 'utm_medium') }} as utm_medium,
        {{ url_parameter('landing_site', 'utm_campaign') }} as utm_campaign,
        {{ url_host('referring_site') }} as referring_host
    from arrivals
),

referring_sources as (
    select
        arrival_parameters.stream,
        arrival_parameters.record_id,
        source_categories.traffic_source,
        source_categories.source_category,
        row_number() over (
            partition by arrival_parameters.stream, arrival_parameters.record_id
            order by length(source_categories.traffic_source) desc, source_categories.traffic_source
        ) as match_rank
    from arrival_parameters
    inner join source_categories
        on {{ dbt.position("'.' || source_categories.traffic_source || '.'", "'.' || arrival_parameters.referring_host || '.'") }} > 0
),

arrival_traffic as (
    select
        arrival_parameters.stream,
        arrival_parameters.record_id,
        case
            when utm_source is not null or utm_medium is not null or utm_campaign is not null
                then lower(utm_source)
            else coalesce(referring_sources.traffic_source, arrival_parameters.referring_host)
        end as traffic_source,
        case
            when utm_source is not null or utm_medium is not null or utm_campaign is not null
                then lower(utm_medium)
            when referring_sources.source_category = 'search' then 'organic'
            when referring_sources.source_category = 'social' then 'social'
            when arrival_parameters.referring_host is not null then 'referral'
        end as traffic_medium,
        utm_campaign as campaign,
        case
            when utm_source is not null or utm_medium is not null or utm_campaign is not null then 'campaign'
            when referring_sources.source_category = 'search' then 'search'
            when referring_sources.source_category = 'social' then 'social'
            when arrival_parameters.referring_host is not null then 'website'
            else 'direct'
        end as referrer_type
    from arrival_parameters
    left join referring_sources
        on arrival_parameters.stream = referring_sources.stream
        and arrival_parameters.record_id = referring_sources.record_id
        and referring_sources.match_rank = 1
),

arrival_channels as (
    select
        arrival_traffic.*,
        channels.channel
    from arrival_traffic
    left join {{ channel_mapping('arrival_traffic') }} as channels
        on {{ channel_join('arrival_traffic', 'channels') }}
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
        on arrival_channels.stream = 'orders'
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
        on arrival_channels.stream = 'checkouts'
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
    where upper(substring(discount_codes.discount_code, 1, 4)) = 'REF-'
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
