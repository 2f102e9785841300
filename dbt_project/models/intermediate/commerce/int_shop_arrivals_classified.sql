{#- Where a shop record's visitor came from (contracts §6.6): Shopify orders and checkouts and
    file-dropped orders, with the UTM parameters of the landing URL (`landing_site`, file drops:
    `landing_url`) and, when there are none, the referring site's host read like a web
    referrer: a search engine or social network (seed `traffic_source_categories`, the longest
    matching source name wins), any other host a referral, no referrer direct. The channel
    comes from the channel rules (seed `channel_groups`). -#}

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

source_categories as (
    select
        lower(traffic_source) as traffic_source,
        lower(source_category) as source_category
    from {{ ref('traffic_source_categories') }}
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

referring_sources as (
    select
        arrival_parameters.source,
        arrival_parameters.stream,
        arrival_parameters.record_id,
        source_categories.traffic_source,
        source_categories.source_category,
        row_number() over (
            partition by arrival_parameters.source, arrival_parameters.stream, arrival_parameters.record_id
            order by length(source_categories.traffic_source) desc, source_categories.traffic_source
        ) as match_rank
    from arrival_parameters
    inner join source_categories
        on {{ dbt.position("'.' || source_categories.traffic_source || '.'", "'.' || arrival_parameters.referring_host || '.'") }} > 0
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
            else coalesce(referring_sources.traffic_source, arrival_parameters.referring_host)
        end as traffic_source,
        case
            when arrival_parameters.has_utm then lower(arrival_parameters.utm_medium)
            when referring_sources.source_category = 'search' then 'organic'
            when referring_sources.source_category = 'social' then 'social'
            when arrival_parameters.referring_host is not null then 'referral'
        end as traffic_medium,
        arrival_parameters.utm_campaign as campaign,
        case
            when arrival_parameters.has_utm then 'campaign'
            when referring_sources.source_category = 'search' then 'search'
            when referring_sources.source_category = 'social' then 'social'
            when arrival_parameters.referring_host is not null then 'website'
            else 'direct'
        end as referrer_type
    from arrival_parameters
    left join referring_sources
        on
            arrival_parameters.source = referring_sources.source
            and arrival_parameters.stream = referring_sources.stream
            and arrival_parameters.record_id = referring_sources.record_id
            and referring_sources.match_rank = 1
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
