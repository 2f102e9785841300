{#- Web sessions (contracts §6.5), keyed by device (web_visitor_id, normalised as identity
    normalises it: one device whatever the case or padding its id is sent in), built from the actions of
    non-bot visits that are session activity (seed web_action_types: page views, events, site
    searches, downloads, outlinks and other interactions; not goals and ecommerce conversions)
    of every web source (Matomo, file drops) regardless of visit boundaries. A session starts at
    a visitor's first action, after more than `session_inactivity_minutes` without an action,
    when it would last longer than `session_max_minutes`, or when an action's URL carries
    campaign parameters other than the session's current campaign (the last campaign seen in
    the session; none at its start counts as other).

    Inactivity splits are fixed by the gaps alone. Within a run of actions without such a gap
    that lasts at most `session_max_minutes`, campaign splits follow from each action's
    previous campaign (no max-length split can intervene). Only the rare longer runs need the
    max-length rule, which depends on where the previous session started: for each of their
    actions the next split of a session starting there is computed set-based, and a short
    recursive walk follows those pointers from the run's first action (standard SQL
    `with recursive`; a walk has as many steps as the run has sessions).

    Each session also counts what happened in it (key-page views and the time spent on them,
    form submissions, lead-form submissions, add-to-carts), and names the records of its first
    action and of its first logged-in action, through which fct_sessions finds its person.

    Incremental: every visitor with an action extracted since the watermark has its whole
    history recomputed (delete+insert on web_visitor_id). -#}
{{ config(**group_replace_config(['web_visitor_id'])) }}

{%- set inactivity_seconds = var('session_inactivity_minutes') * 60 -%}
{%- set max_seconds = var('session_max_minutes') * 60 -%}

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

sequenced as (
    select
        *,
        row_number() over (
            partition by web_visitor_id order by occurred_at, visit_number, visit_id, action_index
        ) as action_sequence,
        lag(occurred_at) over (
            partition by web_visitor_id order by occurred_at, visit_number, visit_id, action_index
        ) as previous_occurred_at
    from session_actions
),

gap_flagged as (
    select
        *,
        case
            when previous_occurred_at is null then 'first'
            when {{ seconds_between('previous_occurred_at', 'occurred_at') }} > {{ inactivity_seconds }} then 'inactivity'
        end as segment_start_reason
    from sequenced
),

segmented as (
    select
        *,
        sum(case when segment_start_reason is not null then 1 else 0 end) over (
            partition by web_visitor_id order by action_sequence rows between unbounded preceding and current row
        ) as segment_number
    from gap_flagged
),

segment_spans as (
    select
        *,
        {{ seconds_between(
            'min(occurred_at) over (partition by web_visitor_id, segment_number)',
            'max(occurred_at) over (partition by web_visitor_id, segment_number)'
        ) }} > {{ max_seconds }} as is_long_segment
    from segmented
),

-- Runs no longer than the maximum: a campaign split wherever an action's campaign differs
-- from the previous campaign of the run (or the run had none yet).
short_segment_starts as (
    select
        action_id,
        case
            when segment_start_reason is not null then segment_start_reason
            when
                campaign_key is not null
                and (previous_campaign_key is null or campaign_key <> previous_campaign_key)
                then 'campaign_change'
        end as split_reason
    from (
        select
            *,
            {{ last_non_null('campaign_key',
                'partition by web_visitor_id, segment_number order by action_sequence
                 rows between unbounded preceding and 1 preceding') }} as previous_campaign_key
        from segment_spans
        where not is_long_segment
    ) as short_segments
),

-- Longer runs: from each action, where would a session starting there be split next?
-- At the first later action more than `session_max_minutes` after it, or at the first
-- later action whose campaign differs from the session's current one, whichever is first.
long_segment_actions as (
    select
        *,
        {{ last_non_null('campaign_key',
            'partition by web_visitor_id, segment_number order by action_sequence
             rows between unbounded preceding and 1 preceding') }} as previous_campaign_key
    from segment_spans
    where is_long_segment
),

campaign_pointers as (
    select
        web_visitor_id,
        action_sequence,
        case
            when campaign_key is null
                then
                    min(case when campaign_key is not null then action_sequence end) over (
                        partition by web_visitor_id, segment_number order by action_sequence
                        rows between 1 following and unbounded following
                    )
            else
                min(case when is_campaign_run_start then action_sequence end) over (
                    partition by web_visitor_id, segment_number order by action_sequence
                    rows between 1 following and unbounded following
                )
        end as next_campaign_sequence
    from (
        select
            *,
            (
                campaign_key is not null
                and (previous_campaign_key is null or campaign_key <> previous_campaign_key)
            ) as is_campaign_run_start
        from long_segment_actions
    ) as runs
),

max_length_pointers as (
    select
        session_start.web_visitor_id,
        session_start.action_sequence,
        min(later.action_sequence) as next_max_length_sequence
    from long_segment_actions as session_start
    inner join long_segment_actions as later
        on
            session_start.web_visitor_id = later.web_visitor_id
            and session_start.segment_number = later.segment_number
            and session_start.action_sequence < later.action_sequence
            and {{ seconds_between('session_start.occurred_at', 'later.occurred_at') }} > {{ max_seconds }}
    group by session_start.web_visitor_id, session_start.action_sequence
),

next_session_pointers as (
    select
        campaign_pointers.web_visitor_id,
        campaign_pointers.action_sequence,
        case
            when max_length_pointers.next_max_length_sequence is null then campaign_pointers.next_campaign_sequence
            when campaign_pointers.next_campaign_sequence is null then max_length_pointers.next_max_length_sequence
            when max_length_pointers.next_max_length_sequence <= campaign_pointers.next_campaign_sequence
                then max_length_pointers.next_max_length_sequence
            else campaign_pointers.next_campaign_sequence
        end as next_sequence,
        case
            when
                max_length_pointers.next_max_length_sequence is not null
                and (
                    campaign_pointers.next_campaign_sequence is null
                    or max_length_pointers.next_max_length_sequence <= campaign_pointers.next_campaign_sequence
                )
                then 'max_length'
            else 'campaign_change'
        end as next_reason
    from campaign_pointers
    left join max_length_pointers
        on
            campaign_pointers.web_visitor_id = max_length_pointers.web_visitor_id
            and campaign_pointers.action_sequence = max_length_pointers.action_sequence
),

-- Follow the pointers from each run's first action (a few steps per run).
long_segment_chain (web_visitor_id, action_sequence, split_reason) as (
    select
        web_visitor_id,
        action_sequence,
        segment_start_reason
    from long_segment_actions
    where segment_start_reason is not null
    union all
    select
        next_session_pointers.web_visitor_id,
        next_session_pointers.next_sequence,
        next_session_pointers.next_reason
    from long_segment_chain
    inner join next_session_pointers
        on
            long_segment_chain.web_visitor_id = next_session_pointers.web_visitor_id
            and long_segment_chain.action_sequence = next_session_pointers.action_sequence
    where next_session_pointers.next_sequence is not null
),

long_segment_starts as (
    select
        long_segment_actions.action_id,
        long_segment_chain.split_reason
    from long_segment_actions
    left join long_segment_chain
        on
            long_segment_actions.web_visitor_id = long_segment_chain.web_visitor_id
            and long_segment_actions.action_sequence = long_segment_chain.action_sequence
),

session_starts as (
    select
        action_id,
        split_reason
    from short_segment_starts
    union all
    select
        action_id,
        split_reason
    from long_segment_starts
),

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

entry_actions as (
    select
        web_visitor_id,
        session_number,
        action_id as first_action_id,
        source as first_record_source,
        stream as first_record_stream,
        record_id as first_record_id,
        url_path as landing_page,
        channel,
        traffic_source,
        traffic_medium,
        campaign,
        referrer_type,
        split_reason
    from numbered
    where split_reason is not null
),

login_records as (
    select
        web_visitor_id,
        session_number,
        source as login_record_source,
        stream as login_record_stream,
        record_id as login_record_id
    from (
        select
            *,
            row_number() over (
                partition by web_visitor_id, session_number order by action_sequence
            ) as login_rank
        from numbered
        where has_login
    ) as logged_in_actions
    where login_rank = 1
),

aggregated as (
    select
        web_visitor_id,
        session_number,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        sum(case when is_page_view then 1 else 0 end) as page_views,
        sum(case when action_kind = 'event' then 1 else 0 end) as events,
        count(distinct visit_id) as visits,
        max(case when touchpoint_type in ('form_submit', 'add_to_cart') then 1 else 0 end) = 1 as has_conversion_event,
        count(case when touchpoint_type = 'product_view' then 1 end) as key_page_views,
        coalesce(sum(case when touchpoint_type = 'product_view' then time_spent_seconds end), 0) as key_page_seconds,
        count(case when touchpoint_type = 'form_submit' then 1 end) as form_submits,
        count(
            case when touchpoint_type = 'form_submit' and event_action in ('newsletter_signup', 'lead_form') then 1 end
        ) as lead_form_submits,
        count(case when touchpoint_type = 'add_to_cart' then 1 end) as add_to_carts,
        max(case when has_login then 1 else 0 end) = 1 as has_login,
        max(_extracted_at) as _extracted_at
    from numbered
    group by web_visitor_id, session_number
),

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
