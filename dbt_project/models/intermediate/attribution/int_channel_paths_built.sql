{#- Channel paths (one row per step): the web sessions (entry channel, contracts §6.5) that
    lead a person to an outcome, the input of attribution and of the path marts.

    * conversion: per non-cancelled order with a person, the person's sessions that started
      within `attribution_lookback_days` before the order (started_at in
      [created_at - lookback, created_at]). Windows of a person's orders may overlap.
    * non_conversion: per person, the sessions that started after their last non-cancelled
      order (all their sessions if they never ordered), within `attribution_lookback_days`
      before the last of those sessions.

    Steps are numbered by (started_at, session_id); `is_channel_repeat` marks a step in the same
    channel as the step before. -#}

{%- set lookback_days = var('attribution_lookback_days') -%}

with

sessions as (
    select * from {{ ref('fct_sessions') }}
    where person_id is not null
),

orders as (
    select * from {{ ref('fct_orders') }}
    where
        not is_cancelled
        and person_id is not null
),

conversion_steps as (
    select
        {{ dbt.concat(["'order:'", 'orders.order_id']) }} as path_id,
        'conversion' as path_outcome,
        orders.order_id,
        orders.person_id,
        orders.created_at as path_ended_at,
        sessions.session_id,
        sessions.started_at,
        sessions.channel,
        sessions.traffic_source,
        sessions.traffic_medium,
        sessions.campaign
    from orders
    inner join sessions
        on
            orders.person_id = sessions.person_id
            and orders.created_at >= sessions.started_at
            and sessions.started_at >= {{ dbt.dateadd('day', -1 * lookback_days, 'orders.created_at') }}
),

last_orders as (
    select
        person_id,
        max(created_at) as last_order_at
    from orders
    group by person_id
),

sessions_after_last_order as (
    select
        sessions.*,
        max(sessions.started_at) over (partition by sessions.person_id) as last_started_at
    from sessions
    left join last_orders
        on sessions.person_id = last_orders.person_id
    where
        last_orders.last_order_at is null
        or sessions.started_at > last_orders.last_order_at
),

non_conversion_steps as (
    select
        {{ dbt.concat(["'person:'", 'person_id']) }} as path_id,
        'non_conversion' as path_outcome,
        cast(null as {{ dbt.type_string() }}) as order_id,
        person_id,
        last_started_at as path_ended_at,
        session_id,
        started_at,
        channel,
        traffic_source,
        traffic_medium,
        campaign
    from sessions_after_last_order
    where started_at >= {{ dbt.dateadd('day', -1 * lookback_days, 'last_started_at') }}
),

steps as (
    select * from conversion_steps
    union all
    select * from non_conversion_steps
),

numbered as (
    select
        *,
        row_number() over (partition by path_id order by started_at, session_id) as step_number,
        count(*) over (partition by path_id) as path_steps,
        lag(channel) over (partition by path_id order by started_at, session_id) as previous_channel
    from steps
),

final as (
    select
        {{ surrogate_key(['path_id', 'session_id']) }} as path_step_id,
        path_id,
        path_outcome,
        order_id,
        person_id,
        path_ended_at,
        cast(step_number as integer) as step_number,
        cast(path_steps as integer) as path_steps,
        session_id,
        started_at,
        channel,
        traffic_source,
        traffic_medium,
        campaign,
        coalesce(channel = previous_channel, false) as is_channel_repeat
    from numbered
)

select * from final
