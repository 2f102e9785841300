{#- Awareness and engagement KPIs, one row per day × channel. Web figures belong to the day a
    session started and its entry channel (fct_sessions); email figures to the day a broadcast
    campaign was sent (regular, plain-text, RSS, A/B and multivariate: seed email_campaign_types),
    in channel Email (fct_email_engagement; a file-dropped campaign, whose type is unknown, counts
    as a broadcast, on the day of its first send); form submissions to the day and
    channel of their touchpoint (fct_touchpoints). Only days and channels with activity have a row. -#}

with

sessions as (
    select
        fct_sessions.*,
        row_number() over (partition by fct_sessions.web_visitor_id order by fct_sessions.started_at, fct_sessions.session_id)
            as visitor_session_number
    from {{ ref('fct_sessions') }} as fct_sessions
),

email_engagement as (
    select engagement.*
    from {{ ref('fct_email_engagement') }} as engagement
    left join {{ ref('int_email_campaigns_unioned') }} as campaigns
        on
            engagement.source = campaigns.source
            and engagement.campaign_id = campaigns.campaign_id
    where
        coalesce(campaigns.is_broadcast, true)
        and engagement.campaign_sent_at is not null
),

form_submits as (
    select * from {{ ref('fct_touchpoints') }}
    where touchpoint_type = 'form_submit'
),

web_daily as (
    select
        cast(sessions.started_at as date) as activity_date,
        sessions.channel,
        count(distinct sessions.web_visitor_id) as visitors,
        count(distinct case when sessions.visitor_session_number = 1 then sessions.web_visitor_id end) as new_visitors,
        count(*) as sessions,
        count(case when sessions.is_engaged then 1 end) as engaged_sessions,
        count(case when sessions.campaign is not null then 1 end) as campaign_sessions,
        cast(sum(sessions.page_views) as {{ dbt.type_bigint() }}) as page_views,
        cast(sum(sessions.key_page_views) as {{ dbt.type_bigint() }}) as key_page_views,
        sum(sessions.key_page_seconds) as key_page_seconds,
        count(case when sessions.key_page_views > 0 then 1 end) as sessions_with_key_page_view
    from sessions
    group by cast(sessions.started_at as date), sessions.channel
),

email_daily as (
    select
        cast(campaign_sent_at as date) as activity_date,
        'Email' as channel,
        count(distinct campaign_id) as email_campaigns_sent,
        count(case when is_sent then 1 end) as emails_delivered,
        count(case when is_sent and is_opened then 1 end) as email_recipients_opened,
        count(case when is_sent and is_clicked then 1 end) as email_recipients_clicked
    from email_engagement
    group by cast(campaign_sent_at as date)
),

form_daily as (
    select
        cast(occurred_at as date) as activity_date,
        channel,
        count(*) as form_submits
    from form_submits
    group by cast(occurred_at as date), channel
),

grid as (
    select
        activity_date,
        channel
    from web_daily
    union
    select
        activity_date,
        channel
    from email_daily
    union
    select
        activity_date,
        channel
    from form_daily
),

final as (
    select
        grid.activity_date,
        grid.channel,
        coalesce(web_daily.visitors, 0) as visitors,
        coalesce(web_daily.new_visitors, 0) as new_visitors,
        coalesce(web_daily.sessions, 0) as sessions,
        coalesce(web_daily.engaged_sessions, 0) as engaged_sessions,
        {{ safe_ratio('web_daily.engaged_sessions', 'web_daily.sessions') }} as engagement_rate,
        coalesce(web_daily.page_views, 0) as page_views,
        coalesce(web_daily.key_page_views, 0) as key_page_views,
        coalesce(web_daily.key_page_seconds, 0) as key_page_seconds,
        {{ safe_ratio('web_daily.key_page_seconds', 'web_daily.key_page_views') }} as seconds_per_key_page_view,
        {{ safe_ratio('web_daily.sessions_with_key_page_view', 'web_daily.sessions') }} as key_page_click_through_rate,
        coalesce(web_daily.campaign_sessions, 0) as campaign_sessions,
        coalesce(form_daily.form_submits, 0) as form_submits,
        coalesce(email_daily.email_campaigns_sent, 0) as email_campaigns_sent,
        coalesce(email_daily.emails_delivered, 0) as emails_delivered,
        coalesce(email_daily.email_recipients_opened, 0) as email_recipients_opened,
        coalesce(email_daily.email_recipients_clicked, 0) as email_recipients_clicked,
        {{ safe_ratio('email_daily.email_recipients_opened', 'email_daily.emails_delivered') }} as email_open_rate,
        {{ safe_ratio('email_daily.email_recipients_clicked', 'email_daily.emails_delivered') }} as email_click_through_rate
    from grid
    left join web_daily
        on
            grid.activity_date = web_daily.activity_date
            and grid.channel = web_daily.channel
    left join email_daily
        on
            grid.activity_date = email_daily.activity_date
            and grid.channel = email_daily.channel
    left join form_daily
        on
            grid.activity_date = form_daily.activity_date
            and grid.channel = form_daily.channel
)

select * from final
