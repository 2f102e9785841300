{#- Acquisition KPIs (visitor → lead → customer), one row per month × channel.

    Leads: a person's first lead event — a session with a newsletter or lead-form submission, or
    a Mailchimp sign-up — counted in its month and in the entry channel of the person's latest
    session started at or before it (a sign-up without such a session: its touchpoint channel,
    Email), unless the person had already ordered. New customers: first orders, credited to
    channels by the attribution model `acquisition_attribution_model` (fct_attribution; a
    fraction when the model splits the credit). Spend: the `marketing_spend` file drop per
    month and channel; without spend lines for a month and channel, spend and CAC are null. -#}

with

sessions as (
    select * from {{ ref('fct_sessions') }}
),

signups as (
    select * from {{ ref('fct_touchpoints') }}
    where
        touchpoint_type = 'newsletter_signup'
        and person_id is not null
),

first_orders as (
    select
        person_id,
        min(created_at) as first_order_at
    from {{ ref('fct_orders') }}
    where
        not is_cancelled
        and person_id is not null
    group by person_id
),

new_customer_credits as (
    select
        attribution.order_created_at,
        attribution.channel,
        attribution.credit
    from {{ ref('fct_attribution') }} as attribution
    inner join {{ ref('fct_orders') }} as orders
        on attribution.order_id = orders.order_id
    where
        orders.is_first_order
        and attribution.attribution_model = '{{ var("acquisition_attribution_model") }}'
),

spend as (
    select * from {{ ref('stg_filedrop__marketing_spend') }}
),

lead_events as (
    select
        person_id,
        started_at as lead_at,
        channel as event_channel
    from sessions
    where
        lead_form_submits > 0
        and person_id is not null
    union all
    select
        person_id,
        occurred_at as lead_at,
        channel as event_channel
    from signups
),

first_leads as (
    select
        person_id,
        lead_at,
        event_channel,
        row_number() over (partition by person_id order by lead_at, event_channel) as lead_rank
    from lead_events
),

lead_sessions as (
    select
        first_leads.person_id,
        first_leads.lead_at,
        first_leads.event_channel,
        sessions.channel as session_channel,
        row_number() over (
            partition by first_leads.person_id order by sessions.started_at desc, sessions.session_id desc
        ) as session_rank
    from first_leads
    left join sessions
        on
            first_leads.person_id = sessions.person_id
            and first_leads.lead_at >= sessions.started_at
    where first_leads.lead_rank = 1
),

leads as (
    select
        lead_sessions.person_id,
        lead_sessions.lead_at,
        coalesce(lead_sessions.session_channel, lead_sessions.event_channel) as channel
    from lead_sessions
    left join first_orders
        on lead_sessions.person_id = first_orders.person_id
    where
        lead_sessions.session_rank = 1
        and (first_orders.first_order_at is null or first_orders.first_order_at > lead_sessions.lead_at)
),

monthly_sessions as (
    select
        {{ month_start('started_at') }} as activity_month,
        channel,
        count(*) as sessions,
        count(case when form_submits > 0 then 1 end) as sessions_with_form_submit
    from sessions
    group by {{ month_start('started_at') }}, channel
),

monthly_leads as (
    select
        {{ month_start('lead_at') }} as activity_month,
        channel,
        count(*) as leads
    from leads
    group by {{ month_start('lead_at') }}, channel
),

monthly_new_customers as (
    select
        {{ month_start('order_created_at') }} as activity_month,
        channel,
        -- credits summed as decimals: order-independent, so a re-run is bit-identical
        cast(sum(cast(credit as decimal(38, 18))) as double) as new_customers
    from new_customer_credits
    group by {{ month_start('order_created_at') }}, channel
),

monthly_spend as (
    select
        {{ month_start('spend_date') }} as activity_month,
        channel,
        sum(spend_amount) as spend,
        min(currency) as spend_currency
    from spend
    group by {{ month_start('spend_date') }}, channel
),

grid as (
    select
        activity_month,
        channel
    from monthly_sessions
    union
    select
        activity_month,
        channel
    from monthly_leads
    union
    select
        activity_month,
        channel
    from monthly_new_customers
    union
    select
        activity_month,
        channel
    from monthly_spend
),

final as (
    select
        grid.activity_month,
        grid.channel,
        coalesce(monthly_sessions.sessions, 0) as sessions,
        coalesce(monthly_sessions.sessions_with_form_submit, 0) as sessions_with_form_submit,
        {{ safe_ratio('monthly_sessions.sessions_with_form_submit', 'monthly_sessions.sessions') }} as form_completion_rate,
        coalesce(monthly_leads.leads, 0) as leads,
        {{ safe_ratio('monthly_leads.leads', 'monthly_sessions.sessions') }} as leads_per_session,
        coalesce(monthly_new_customers.new_customers, 0) as new_customers,
        {{ money('monthly_spend.spend') }} as spend,
        monthly_spend.spend_currency,
        {{ money(safe_ratio('monthly_spend.spend', 'monthly_new_customers.new_customers')) }} as customer_acquisition_cost,
        {{ money(safe_ratio('monthly_spend.spend', 'monthly_leads.leads')) }} as cost_per_lead
    from grid
    left join monthly_sessions
        on
            grid.activity_month = monthly_sessions.activity_month
            and grid.channel = monthly_sessions.channel
    left join monthly_leads
        on
            grid.activity_month = monthly_leads.activity_month
            and grid.channel = monthly_leads.channel
    left join monthly_new_customers
        on
            grid.activity_month = monthly_new_customers.activity_month
            and grid.channel = monthly_new_customers.channel
    left join monthly_spend
        on
            grid.activity_month = monthly_spend.activity_month
            and grid.channel = monthly_spend.channel
)

select * from final
