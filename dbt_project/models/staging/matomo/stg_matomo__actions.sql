{%- set visit_structure = {
    'idVisit': 'string',
    'actionDetails': [{
        'type': 'string', 'url': 'string', 'pageTitle': 'string', 'pageIdAction': 'string',
        'idpageview': 'string', 'timestamp': 'double', 'timeSpent': 'double',
        'eventCategory': 'string', 'eventAction': 'string', 'eventName': 'string',
        'goalName': 'string', 'revenue': 'double', 'orderId': 'string',
    }],
} -%}

with

parsed as (
    {{ parsed_landed_records('matomo', 'visits', visit_structure, 'visit') }}
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
        action.type as action_type,
        action.url,
        action.pageTitle as page_title,
        action.pageIdAction as page_id_action,
        action.idpageview as pageview_id,
        {{ epoch_seconds_to_timestamp('action.timestamp') }} as occurred_at,
        action.timeSpent as time_spent_seconds,
        action.eventCategory as event_category,
        action.eventAction as event_action,
        action.eventName as event_name,
        action.goalName as goal_name,
        action.revenue,
        action.orderId as order_id,
        _extracted_at
    from actions
)

select * from final
