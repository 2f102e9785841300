{#- One row per web session (contracts §6.5) with its person: the person of the session's first
    visit with a login, else of its first visit. Sessions whose visit record belongs to an erased
    person are left out. -#}

with

sessions as (
    select * from {{ ref('int_web_sessions') }}
),

visit_persons as (
    select
        record_id as visit_id,
        person_id
    from {{ source('identity', 'identity_record_persons') }}
    where source = 'matomo' and stream = 'visits'
),

suppressed_visits as (
    select distinct record_id as visit_id
    from {{ source('identity', 'identity_suppressed_records') }}
    where source = 'matomo' and stream = 'visits'
),

final as (
    select
        sessions.session_id,
        sessions.web_visitor_id,
        coalesce(login_persons.person_id, first_persons.person_id) as person_id,
        sessions.started_at,
        sessions.ended_at,
        sessions.duration_seconds,
        sessions.page_views,
        sessions.events,
        sessions.landing_page,
        sessions.channel,
        sessions.traffic_source,
        sessions.traffic_medium,
        sessions.campaign,
        sessions.is_engaged,
        sessions.has_conversion_event,
        sessions.split_reason,
        sessions.has_login
    from sessions
    left join visit_persons as login_persons
        on sessions.login_visit_id = login_persons.visit_id
    left join visit_persons as first_persons
        on sessions.first_visit_id = first_persons.visit_id
    left join suppressed_visits as suppressed_first
        on sessions.first_visit_id = suppressed_first.visit_id
    left join suppressed_visits as suppressed_login
        on sessions.login_visit_id = suppressed_login.visit_id
    where
        suppressed_first.visit_id is null
        and suppressed_login.visit_id is null
)

select * from final
