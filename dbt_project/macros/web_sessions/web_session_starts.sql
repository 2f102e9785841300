{#- Web sessions, step 2 of 3 (int_web_sessions): where sessions start inside the segments of
    web_action_segments. Reads the CTE named by `segments` (its `segment_spans`) and writes the
    CTEs below, the last, `session_starts`, holding one row per action: action_id and
    split_reason ('first', 'inactivity', 'max_length' or 'campaign_change' where a session
    starts at the action, else null). Uses a recursive CTE: the model's `with` must be
    `with recursive`.

    Besides the segment's start, a session starts when it would last longer than
    `session_max_minutes`, or when an action's URL carries campaign parameters other than the
    session's current campaign (the last campaign seen in the session; none at its start
    counts as other). In a segment no longer than the maximum no max-length split can
    intervene, so the campaign splits follow from each action's previous campaign
    (short_segment_starts). In the rare longer segments the max-length rule depends on where
    the previous session started: for each of their actions the next split of a session
    starting there is computed set-based (next_session_pointers), and a short recursive walk
    follows those pointers from the segment's first action (long_segment_chain, standard SQL
    `with recursive`; a walk has as many steps as the segment has sessions). -#}
{% macro web_session_starts(segments) -%}
{%- set max_seconds = var('session_max_minutes') * 60 -%}
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
        from {{ segments }}
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
    from {{ segments }}
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
)
{%- endmacro %}
