{#- Web sessions, step 3 of 3 (int_web_sessions): what each session holds. Reads the CTE named
    by `numbered_actions` (the session actions with session_number, and split_reason on each
    session's first action) and writes the CTEs, each one row per (web_visitor_id,
    session_number):

    - entry_actions: the session's first action — its record (first_record_source/_stream/_id),
      landing page, arrival traffic and channel, split reason;
    - login_records: the record of its first logged-in action (sessions without a login have
      no row), through which fct_sessions finds the session's person;
    - aggregated: start and end, counts of page views, events and visits, key-page views and
      the time spent on them, form and lead-form submissions, add-to-carts, login, and the
      newest `_extracted_at` (the incremental watermark). -#}
{% macro web_session_attributes(numbered_actions) -%}
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
    from {{ numbered_actions }}
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
        from {{ numbered_actions }}
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
    from {{ numbered_actions }}
    group by web_visitor_id, session_number
)
{%- endmacro %}
