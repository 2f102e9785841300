{#- Visits with the bot rule of contracts §6.1 and the visit's own traffic source
    (Matomo referrer fields, used where an action's URL carries no campaign parameters). -#}

with

visits as (
    select * from {{ ref('stg_matomo__visits') }}
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
        case visits.referrer_type
            when 'campaign' then lower(visits.campaign_source)
            when 'search' then lower(visits.referrer_name)
            when 'social' then lower(visits.referrer_name)
            when 'website' then lower(visits.referrer_name)
        end as visit_traffic_source,
        case visits.referrer_type
            when 'campaign' then lower(visits.campaign_medium)
            when 'search' then 'organic'
            when 'social' then 'social'
            when 'website' then 'referral'
        end as visit_traffic_medium,
        case when visits.referrer_type = 'campaign' then visits.campaign_name end as visit_campaign
    from visits
    left join bot_browsers
        on lower(trim(visits.browser_name)) = bot_browsers.browser_name
),

final as (
    select * from flagged
)

select * from final
