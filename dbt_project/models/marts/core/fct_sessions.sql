{#- One row per web session (contracts §6.5) with its person: the person of the record of the
    session's first logged-in action, else of the record of its first action (a Matomo visit or a
    file-dropped page view). Sessions whose first or login record belongs to an erased person are
    left out. -#}

with

sessions as (
    select * from {{ ref('int_web_sessions') }}
),

record_persons as (
    select * from {{ ref('int_record_persons') }}
),

final as (
    select
        sessions.session_id,
        sessions.web_visitor_id,
        coalesce(login_persons.person_id, first_persons.person_id) as person_id,
        sessions.started_at,
        {{ local_date('sessions.started_at') }} as started_local_date,
        sessions.ended_at,
        sessions.duration_seconds,
        cast(sessions.page_views as {{ dbt.type_bigint() }}) as page_views,
        cast(sessions.events as {{ dbt.type_bigint() }}) as events,
        sessions.landing_page,
        sessions.channel,
        sessions.traffic_source,
        sessions.traffic_medium,
        sessions.campaign,
        sessions.is_engaged,
        sessions.has_conversion_event,
        sessions.key_page_views,
        sessions.key_page_seconds,
        sessions.form_submits,
        sessions.lead_form_submits,
        sessions.add_to_carts,
        sessions.split_reason,
        sessions.has_login
    from sessions
    left join record_persons as login_persons
        on {{ same_record('sessions', 'login_persons', 'login_record_') }}
    left join record_persons as first_persons
        on {{ same_record('sessions', 'first_persons', 'first_record_') }}
    where
        not coalesce(first_persons.is_suppressed, false)
        and not coalesce(login_persons.is_suppressed, false)
)

select * from final
