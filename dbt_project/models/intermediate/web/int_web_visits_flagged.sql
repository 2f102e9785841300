{#- Visits with the bot rule of contracts §6.1 and the visit's own traffic source (used where
    an action's URL carries no campaign parameters; contracts §6.6). A campaign visit's source
    and medium are Matomo's campaign fields. A referred visit's source is read from the
    normalised host of its referrer URL (the seed's name when seed traffic_source_categories
    knows the site, else the host; without a URL, Matomo's referrer name), and its medium from
    Matomo's referrer type: organic (search), social (social), referral (website, and any
    type Matomo adds). -#}

with

visits as (
    select
        *,
        {{ url_host('referrer_url') }} as referring_host
    from {{ ref('stg_matomo__visits') }}
),

bot_browsers as (
    select distinct lower(trim(browser_name)) as browser_name from {{ ref('bot_browsers') }}
),

flagged as (
    select
        visits.*,
        (
            bot_browsers.browser_name is not null
            or {{ is_bot_by_activity('visits.action_count', 'visits.visit_duration_seconds') }}
        ) as is_bot,
        case
            when visits.referrer_type = 'campaign' then lower(visits.campaign_source)
            when visits.referrer_type is not null and visits.referrer_type <> 'direct'
                then coalesce(host_sources.traffic_source, visits.referring_host, nullif(lower(trim(visits.referrer_name)), ''))
        end as visit_traffic_source,
        case
            when visits.referrer_type = 'campaign' then lower(visits.campaign_medium)
            when visits.referrer_type = 'search' then 'organic'
            when visits.referrer_type = 'social' then 'social'
            when visits.referrer_type is not null and visits.referrer_type <> 'direct' then 'referral'
        end as visit_traffic_medium,
        case when visits.referrer_type = 'campaign' then visits.campaign_name end as visit_campaign
    from visits
    left join bot_browsers
        on lower(trim(visits.browser_name)) = bot_browsers.browser_name
    left join {{ traffic_source_matches('visits', 'referring_host') }} as host_sources
        on visits.referring_host = host_sources.matched_key
),

final as (
    select * from flagged
)

select * from final
