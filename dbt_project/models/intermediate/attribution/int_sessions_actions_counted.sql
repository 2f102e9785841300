{#- One row per web session (int_web_sessions) with what happened in it: key-page views and the
    time spent on them (product, pricing, case-study and comparison pages: seed page_categories
    `is_product_page`), form submissions (all, and lead forms: newsletter sign-up or lead form)
    and add-to-carts. Each action belongs to the session whose first action is the latest at or
    before it, in the order int_web_sessions uses (occurred_at, visit, action index), so every
    action of a session is counted exactly once. -#}

with

sessions as (
    select
        session_id,
        first_action_id
    from {{ ref('int_web_sessions') }}
),

actions as (
    select
        action_id,
        web_visitor_id,
        occurred_at,
        {{ dbt.safe_cast('visit_id', dbt.type_bigint()) }} as visit_number,
        visit_id,
        action_index,
        touchpoint_type,
        lower(event_action) as event_action,
        time_spent_seconds
    from {{ ref('int_web_actions_classified') }}
    where
        not is_bot
        and action_type in ('action', 'event')
        and web_visitor_id is not null
        and occurred_at is not null
),

assigned as (
    select
        actions.*,
        {{ last_non_null('sessions.session_id',
            'partition by actions.web_visitor_id
             order by actions.occurred_at, actions.visit_number, actions.visit_id, actions.action_index
             rows between unbounded preceding and current row') }} as session_id
    from actions
    left join sessions
        on actions.action_id = sessions.first_action_id
),

final as (
    select
        session_id,
        count(case when touchpoint_type = 'product_view' then 1 end) as key_page_views,
        coalesce(sum(case when touchpoint_type = 'product_view' then time_spent_seconds end), 0) as key_page_seconds,
        count(case when touchpoint_type = 'form_submit' then 1 end) as form_submits,
        count(
            case when touchpoint_type = 'form_submit' and event_action in ('newsletter_signup', 'lead_form') then 1 end
        ) as lead_form_submits,
        count(case when touchpoint_type = 'add_to_cart' then 1 end) as add_to_carts
    from assigned
    where session_id is not null
    group by session_id
)

select * from final
