{#- Where a shop record's visitor came from (contracts §6.6): Shopify orders and checkouts and
    file-dropped orders and checkouts, with the UTM parameters of the landing URL
    (`landing_site`, file-dropped orders: `landing_url`) and, when there are none, the referring
    site read like a web referrer (macro referring_host_mapping: a search engine or social
    network of seed `traffic_source_categories`, any other host a referral), no referrer direct
    (file-dropped checkouts carry neither URL: direct). The channel comes from the channel rules
    (seed `channel_groups`). -#}

with

shopify_orders as (
    select * from {{ ref('stg_shopify__orders') }}
),

shopify_checkouts as (
    select * from {{ ref('stg_shopify__checkouts') }}
),

filedrop_orders as (
    select * from {{ ref('stg_filedrop__orders') }}
),

filedrop_checkouts as (
    select * from {{ ref('stg_filedrop__checkouts') }}
),

arrivals as (
    select
        'shopify' as source,
        'orders' as stream,
        order_id as record_id,
        landing_site,
        referring_site
    from shopify_orders
    union all
    select
        'shopify' as source,
        'checkouts' as stream,
        checkout_id as record_id,
        landing_site,
        referring_site
    from shopify_checkouts
    union all
    select
        'filedrop' as source,
        'orders' as stream,
        order_id as record_id,
        landing_url as landing_site,
        referring_url as referring_site
    from filedrop_orders
    union all
    select
        'filedrop' as source,
        'checkouts' as stream,
        checkout_id as record_id,
        cast(null as {{ dbt.type_string() }}) as landing_site,
        cast(null as {{ dbt.type_string() }}) as referring_site
    from filedrop_checkouts
),

arrival_parameters as (
    select
        *,
        utm_source is not null or utm_medium is not null or utm_campaign is not null as has_utm
    from (
        select
            *,
            {{ url_parameter('landing_site', 'utm_source') }} as utm_source,
            {{ url_parameter('landing_site', 'utm_medium') }} as utm_medium,
            {{ url_parameter('landing_site', 'utm_campaign') }} as utm_campaign,
            {{ url_host('referring_site') }} as referring_host
        from arrivals
    ) as parameters
),

arrival_traffic as (
    select
        arrival_parameters.source,
        arrival_parameters.stream,
        arrival_parameters.record_id,
        arrival_parameters.landing_site,
        arrival_parameters.referring_site,
        arrival_parameters.utm_source,
        arrival_parameters.utm_medium,
        arrival_parameters.utm_campaign,
        case
            when arrival_parameters.has_utm then lower(arrival_parameters.utm_source)
            else referrers.traffic_source
        end as traffic_source,
        case
            when arrival_parameters.has_utm then lower(arrival_parameters.utm_medium)
            else referrers.traffic_medium
        end as traffic_medium,
        arrival_parameters.utm_campaign as campaign,
        case
            when arrival_parameters.has_utm then 'campaign'
            else coalesce(referrers.referrer_type, 'direct')
        end as referrer_type
    from arrival_parameters
    left join {{ referring_host_mapping('arrival_parameters') }} as referrers
        on arrival_parameters.referring_host = referrers.referring_host
),

final as (
    select
        arrival_traffic.*,
        channels.channel
    from arrival_traffic
    left join {{ channel_mapping('arrival_traffic') }} as channels
        on {{ channel_join('arrival_traffic', 'channels') }}
)

select * from final
