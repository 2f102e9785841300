{#- Web sessions (contracts §6.5), keyed by device (web_visitor_id, normalised as identity
    normalises it: one device whatever the case or padding its id is sent in), built from the actions of
    non-bot visits that are session activity (seed web_action_types: page views, events, site
    searches, downloads, outlinks and other interactions; not goals and ecommerce conversions)
    of every web source (Matomo, file drops) regardless of visit boundaries. A session starts at
    a visitor's first action, after more than `session_inactivity_minutes` without an action,
    when it would last longer than `session_max_minutes`, or when an action's URL carries
    campaign parameters other than the session's current campaign (the last campaign seen in
    the session; none at its start counts as other).

    This model reads the actions, keeps those of the visitors to recompute and numbers the
    sessions; three macros (macros/web_sessions/), each writing a few CTEs, do the rest:
    web_action_segments (order a visitor's actions, cut at inactivity gaps), web_session_starts
    (the max-length and campaign splits inside those segments, with a short `with recursive`
    walk) and web_session_attributes (each session's entry action, first logged-in record and
    counts). They are macros, not ephemeral models, because they run after the incremental
    filter (DECISIONS.md "Models").

    Incremental: every visitor with an action extracted since the watermark has its whole
    history recomputed (delete+insert on web_visitor_id). -#}
{{ config(**group_replace_config(['web_visitor_id'])) }}

with recursive

actions as (
    select
        action_id,
        source,
        stream,
        record_id,
        visit_id,
        visit_number,
        action_index,
        {{ normalised_identifier('web_visitor_id', 'web_visitor_id') }} as web_visitor_id,
        has_login,
        action_kind,
        is_page_view,
        touchpoint_type,
        lower(event_action) as event_action,
        time_spent_seconds,
        occurred_at,
        url_path,
        campaign_key,
        traffic_source,
        traffic_medium,
        campaign,
        referrer_type,
        channel,
        _extracted_at
    from {{ ref('int_web_actions_classified') }}
    where
        not is_bot
        and is_session_activity
        and nullif({{ normalised_identifier('web_visitor_id', 'web_visitor_id') }}, '') is not null
        and occurred_at is not null
),

session_actions as (
    {% if is_incremental() -%}
    {{ rows_of_changed_groups('actions', ['web_visitor_id']) }}
    {%- else -%}
        select * from actions
    {%- endif %}
),

{{ web_action_segments('session_actions') }},

{{ web_session_starts('segment_spans') }},

numbered as (
    select
        segment_spans.*,
        session_starts.split_reason,
        sum(case when session_starts.split_reason is not null then 1 else 0 end) over (
            partition by segment_spans.web_visitor_id
            order by segment_spans.action_sequence rows between unbounded preceding and current row
        ) as session_number
    from segment_spans
    inner join session_starts
        on segment_spans.action_id = session_starts.action_id
),

{{ web_session_attributes('numbered') }},

final as (
    select
        {{ surrogate_key(['aggregated.web_visitor_id', 'entry_actions.first_action_id']) }} as session_id,
        aggregated.web_visitor_id,
        cast(aggregated.session_number as integer) as session_number,
        aggregated.started_at,
        aggregated.ended_at,
        {{ seconds_between('aggregated.started_at', 'aggregated.ended_at') }} as duration_seconds,
        aggregated.page_views,
        aggregated.events,
        aggregated.visits,
        entry_actions.landing_page,
        entry_actions.channel,
        entry_actions.traffic_source,
        entry_actions.traffic_medium,
        entry_actions.campaign,
        entry_actions.referrer_type,
        entry_actions.split_reason,
        aggregated.has_conversion_event,
        (
            aggregated.page_views >= 2
            or {{ seconds_between('aggregated.started_at', 'aggregated.ended_at') }} >= 10
            or aggregated.has_conversion_event
        ) as is_engaged,
        aggregated.key_page_views,
        aggregated.key_page_seconds,
        aggregated.form_submits,
        aggregated.lead_form_submits,
        aggregated.add_to_carts,
        aggregated.has_login,
        entry_actions.first_action_id,
        entry_actions.first_record_source,
        entry_actions.first_record_stream,
        entry_actions.first_record_id,
        login_records.login_record_source,
        login_records.login_record_stream,
        login_records.login_record_id,
        aggregated._extracted_at{{ group_bucket_column(['web_visitor_id'], 'aggregated') }}  -- noqa: LT02
    from aggregated
    inner join entry_actions
        on
            aggregated.web_visitor_id = entry_actions.web_visitor_id
            and aggregated.session_number = entry_actions.session_number
    left join login_records
        on
            aggregated.web_visitor_id = login_records.web_visitor_id
            and aggregated.session_number = login_records.session_number
)

select * from final
