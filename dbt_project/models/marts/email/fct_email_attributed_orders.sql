{#- One row per non-cancelled order that email brought in: the person clicked an email link
    (Mailchimp or a file-dropped email tool), or started a web session in the Email channel, at most `email_attribution_window_days`
    before the order (and not after it). The campaign that gets the order is that of the last
    such touch (last click; a click before a session at the same instant); a session names its
    campaign by the Mailchimp campaign id of its landing URL (`mc_cid`), else by its UTM campaign. -#}

{%- set window_days = var('email_attribution_window_days') -%}

with

orders as (
    select * from {{ ref('fct_orders') }}
    where
        not is_cancelled
        and person_id is not null
),

clicks as (
    select * from {{ ref('int_email_recipients_resolved') }}
    where
        event_type = 'click'
        and person_id is not null
),

campaigns as (
    select * from {{ ref('int_email_campaigns_unioned') }}
),

email_sessions as (
    select * from {{ ref('fct_sessions') }}
    where
        channel = 'Email'
        and person_id is not null
),

session_entries as (
    select
        sessions.session_id,
        entry_actions.mailchimp_campaign_id
    from {{ ref('int_web_sessions') }} as sessions
    inner join {{ ref('int_web_actions_classified') }} as entry_actions
        on sessions.first_action_id = entry_actions.action_id
),

email_touches as (
    select
        'email_click' as touch_type,
        {{ surrogate_key(['record_id', 'occurred_at', 'url']) }} as touch_id,
        person_id,
        occurred_at as touched_at,
        source as campaign_source,
        campaign_id,
        cast(null as {{ dbt.type_string() }}) as utm_campaign,
        0 as touch_priority
    from clicks
    union all
    select
        'email_session' as touch_type,
        email_sessions.session_id as touch_id,
        email_sessions.person_id,
        email_sessions.started_at as touched_at,
        'mailchimp' as campaign_source,
        session_entries.mailchimp_campaign_id as campaign_id,
        email_sessions.campaign as utm_campaign,
        1 as touch_priority
    from email_sessions
    left join session_entries
        on email_sessions.session_id = session_entries.session_id
),

order_touches as (
    select
        orders.order_id,
        orders.person_id,
        orders.created_at,
        orders.total_price,
        orders.net_revenue,
        orders.currency,
        orders.is_first_order,
        email_touches.touch_type,
        email_touches.touch_id,
        email_touches.touched_at,
        email_touches.campaign_source,
        email_touches.campaign_id,
        email_touches.utm_campaign,
        count(*) over (partition by orders.order_id) as email_touches_in_window,
        row_number() over (
            partition by orders.order_id
            order by email_touches.touched_at desc, email_touches.touch_priority asc, email_touches.touch_id asc
        ) as touch_rank
    from orders
    inner join email_touches
        on
            orders.person_id = email_touches.person_id
            and orders.created_at >= email_touches.touched_at
            and email_touches.touched_at >= {{ dbt.dateadd('day', -1 * window_days, 'orders.created_at') }}
),

final as (
    select
        order_touches.order_id,
        order_touches.person_id,
        order_touches.created_at,
        {{ local_date('order_touches.created_at') }} as created_local_date,
        order_touches.total_price,
        order_touches.net_revenue,
        order_touches.currency,
        order_touches.is_first_order,
        order_touches.campaign_id,
        coalesce(campaigns.campaign_title, order_touches.utm_campaign) as campaign_name,
        order_touches.touch_type as attributed_touch_type,
        order_touches.touched_at as attributed_touch_at,
        {{ seconds_between('order_touches.touched_at', 'order_touches.created_at') }} / 3600.0 as hours_to_order,
        cast(order_touches.email_touches_in_window as integer) as email_touches_in_window
    from order_touches
    left join campaigns
        on
            order_touches.campaign_source = campaigns.source
            and order_touches.campaign_id = campaigns.campaign_id
    where order_touches.touch_rank = 1
)

select * from final
