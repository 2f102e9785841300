{#- Web sessions, step 1 of 3 (int_web_sessions): order each visitor's actions and cut them
    at inactivity gaps. Reads the CTE named by `actions` (one row per session action: web_visitor_id,
    occurred_at, visit_number, visit_id, action_index, …) and writes the CTEs `sequenced`,
    `gap_flagged`, `segmented` and `segment_spans`, the last holding every column of `actions` and

    - action_sequence: the action's place in its visitor's history (by time, then visit and
      action order);
    - previous_occurred_at: the visitor's previous action;
    - segment_start_reason: 'first' (the visitor's first action) or 'inactivity' (more than
      `session_inactivity_minutes` after the previous one) where a segment starts, else null;
    - segment_number: the visitor's run of actions without such a gap (a segment), 1, 2, …;
    - is_long_segment: the segment lasts longer than `session_max_minutes`, so the
      max-length rule may cut it (web_session_starts).

    Every inactivity gap starts a session; the other splits happen inside a segment. -#}
{% macro web_action_segments(actions) -%}
{%- set inactivity_seconds = var('session_inactivity_minutes') * 60 -%}
{%- set max_seconds = var('session_max_minutes') * 60 -%}
sequenced as (
    select
        *,
        row_number() over (
            partition by web_visitor_id order by occurred_at, visit_number, visit_id, action_index
        ) as action_sequence,
        lag(occurred_at) over (
            partition by web_visitor_id order by occurred_at, visit_number, visit_id, action_index
        ) as previous_occurred_at
    from {{ actions }}
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
)
{%- endmacro %}
