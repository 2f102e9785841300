{#- Every action Matomo reports for a visit, whatever its type: page views (`action`), events,
    site searches, downloads, outlinks, goals, ecommerce orders and abandoned carts, content and
    media interactions, form analytics, and types newer versions add (contracts §1.5). Staging
    keeps them all with the type as sent; int_web_actions_classified maps the type to a known
    one or `other`. Numbers are read as text and typed with json_number (contracts §1.1).

    Incremental (the largest staging model): the visits with a version landed after the
    watermark have all their actions replaced (group_replace_config on visit_id). A Matomo visit
    only gains actions, so a new version never leaves actions of an older one behind. -#}
{{ config(**group_replace_config(['visit_id'])) }}

with

parsed as (
    {{ parsed_landed_records('matomo', 'visits', stream_structure('matomo', 'visits'), 'visit') }}
),

actions as (
    select
        parsed.record_id as visit_id,
        action_index,
        action,
        parsed._extracted_at
    from parsed
    {{ unnest_with_index('parsed.visit.actionDetails', 'action', 'action_index') }}
),

final as (
    select
        {{ surrogate_key(['visit_id', 'action_index']) }} as action_id,
        visit_id,
        cast(action_index as integer) as action_index,
        trim(action.type) as action_type,
        action.url,
        action.pageTitle as page_title,
        action.pageIdAction as page_id_action,
        action.idpageview as pageview_id,
        {{ epoch_seconds_to_timestamp(json_number('action.timestamp')) }} as occurred_at,
        {{ json_number('action.timeSpent') }} as time_spent_seconds,
        {{ json_number('action.generationTimeMilliseconds') }} as generation_time_milliseconds,
        action.eventCategory as event_category,
        action.eventAction as event_action,
        action.eventName as event_name,
        {{ json_number('action.eventValue') }} as event_value,
        action.siteSearchKeyword as site_search_keyword,
        action.siteSearchCategory as site_search_category,
        {{ json_number('action.siteSearchCount', integral=true) }} as site_search_result_count,
        action.contentName as content_name,
        action.contentPiece as content_piece,
        action.contentTarget as content_target,
        action.contentInteraction as content_interaction,
        action.goalName as goal_name,
        action.goalId as goal_id,
        {{ json_number('action.revenue') }} as revenue,
        {{ json_number('action.items', integral=true) }} as item_count,
        action.orderId as order_id,
        _extracted_at{{ group_bucket_column(['visit_id']) }}  -- noqa: LT02
    from actions
)

select * from final
