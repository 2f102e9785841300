{#- Every web action of every web source in one shape, with the context of its visit: Matomo
    actions with their visit (int_web_visits_flagged), and the rows of the `web_pageviews` file
    drop (contracts §4), which have no visit record of their own.

    A file-dropped visit is a visitor's run of page views and events without a gap of more than
    `session_inactivity_minutes` (as Matomo ends a visit); it is identified by its first row.
    Per file-dropped row: an event when it names an event category or action, else a page
    view; time spent is the time to the visit's next row (0 for its last), as Matomo counts it;
    the bot rule's activity half (contracts §6.1) applies to the visit; the referrer is the
    row's `referrer_url` when its host differs from the page's (an external referrer, read like
    a shop referrer: macro referring_host_mapping), else none — the row then continues the
    arrival of its visit (int_web_actions_classified). Its `_extracted_at` is the visitor's
    latest, so incremental models recompute all of a visitor's rows when one arrives (visits,
    bot flags and inherited channels span rows). -#}

{%- set inactivity_seconds = var('session_inactivity_minutes') * 60 -%}

with

matomo_actions as (
    select * from {{ ref('stg_matomo__actions') }}
),

matomo_visits as (
    select * from {{ ref('int_web_visits_flagged') }}
),

pageviews as (
    select
        *,
        coalesce(nullif({{ normalised_identifier('web_visitor_id', 'web_visitor_id') }}, ''), pageview_id)
            as device_key
    from {{ ref('stg_filedrop__web_pageviews') }}
),

pageviews_sequenced as (
    select
        *,
        lag(occurred_at) over (
            partition by device_key order by occurred_at, pageview_id
        ) as previous_occurred_at
    from pageviews
),

pageviews_visited as (
    select
        *,
        sum(
            case
                when
                    previous_occurred_at is null
                    or {{ seconds_between('previous_occurred_at', 'occurred_at') }} > {{ inactivity_seconds }}
                    then 1
                else 0
            end
        ) over (
            partition by device_key order by occurred_at, pageview_id
            rows between unbounded preceding and current row
        ) as visit_sequence
    from pageviews_sequenced
),

pageview_visits as (
    select
        *,
        first_value(pageview_id) over (
            partition by device_key, visit_sequence order by occurred_at, pageview_id
        ) as visit_id,
        row_number() over (
            partition by device_key, visit_sequence order by occurred_at, pageview_id
        ) as action_index,
        lead(occurred_at) over (
            partition by device_key, visit_sequence order by occurred_at, pageview_id
        ) as next_occurred_at,
        count(*) over (partition by device_key, visit_sequence) as visit_actions,
        {{ seconds_between(
            'min(occurred_at) over (partition by device_key, visit_sequence)',
            'max(occurred_at) over (partition by device_key, visit_sequence)'
        ) }} as visit_duration_seconds,
        max(_extracted_at) over (partition by device_key) as device_extracted_at,
        case
            when {{ url_host('referrer_url') }} <> coalesce({{ url_host('url') }}, '')
                then {{ url_host('referrer_url') }}
        end as referring_host
    from pageviews_visited
),

unioned as (
    select
        matomo_actions.action_id,
        'matomo' as source,
        'visits' as stream,
        matomo_actions.visit_id as record_id,
        matomo_actions.visit_id,
        {{ dbt.safe_cast('matomo_actions.visit_id', dbt.type_bigint()) }} as visit_number,
        matomo_actions.action_index,
        matomo_actions.action_type,
        matomo_actions.url,
        matomo_actions.page_title,
        matomo_actions.occurred_at,
        matomo_actions.time_spent_seconds,
        matomo_actions.event_category,
        matomo_actions.event_action,
        matomo_actions.event_name,
        matomo_visits.web_visitor_id,
        matomo_visits.web_user_id,
        matomo_visits.has_login,
        matomo_visits.is_bot,
        matomo_visits.referrer_type as visit_referrer_type,
        matomo_visits.visit_traffic_source,
        matomo_visits.visit_traffic_medium,
        matomo_visits.visit_campaign,
        matomo_actions._extracted_at
    from matomo_actions
    inner join matomo_visits
        on matomo_actions.visit_id = matomo_visits.visit_id
    union all
    select
        {{ surrogate_key(["'filedrop'", 'pageview_visits.pageview_id']) }} as action_id,
        'filedrop' as source,
        'web_pageviews' as stream,
        pageview_visits.pageview_id as record_id,
        pageview_visits.visit_id,
        cast(null as {{ dbt.type_bigint() }}) as visit_number,
        cast(pageview_visits.action_index as integer) as action_index,
        case
            when
                nullif(trim(pageview_visits.event_category), '') is not null
                or nullif(trim(pageview_visits.event_action), '') is not null
                then 'event'
            else 'action'
        end as action_type,
        pageview_visits.url,
        pageview_visits.page_title,
        pageview_visits.occurred_at,
        coalesce({{ seconds_between('pageview_visits.occurred_at', 'pageview_visits.next_occurred_at') }}, 0)
            as time_spent_seconds,
        pageview_visits.event_category,
        pageview_visits.event_action,
        pageview_visits.event_name,
        pageview_visits.web_visitor_id,
        pageview_visits.web_user_id,
        nullif(trim(pageview_visits.web_user_id), '') is not null as has_login,
        {{ is_bot_by_activity('pageview_visits.visit_actions', 'pageview_visits.visit_duration_seconds') }} as is_bot,
        referrers.referrer_type as visit_referrer_type,
        referrers.traffic_source as visit_traffic_source,
        referrers.traffic_medium as visit_traffic_medium,
        cast(null as {{ dbt.type_string() }}) as visit_campaign,
        pageview_visits.device_extracted_at as _extracted_at
    from pageview_visits
    left join {{ referring_host_mapping('pageview_visits') }} as referrers
        on pageview_visits.referring_host = referrers.referring_host
),

final as (
    select * from unioned
)

select * from final
