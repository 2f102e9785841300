{#- Every web action (int_web_actions_unioned: Matomo actions and file-dropped page views and
    events) with its kind (seed web_action_types: the type as sent when the seed lists it, else
    `other`, and what that kind counts as), its page category, the campaign parameters of its
    URL, its traffic source and channel (contracts §6.6), and the touchpoint type it stands for
    (contracts §6.1, §1.5).

    Only page views read their URL as a page of the site: a download's URL is the file's, an
    outlink's another site's (whose own UTM parameters are not our arrival), an event's the
    page it happened on.

    An action's traffic source is its arrival's: the action itself when its URL carries campaign
    parameters or its visit names a referrer (a Matomo visit always does: direct included; a
    file-dropped row when it has an external referrer), else the latest such action before it in
    the same visit (a file-dropped page reached by internal navigation continues the visit's
    arrival); no arrival at all is direct. Arrival traffic: the URL's campaign parameters, else
    the visit's referrer.

    Incremental by record (group_replace_config on source, record_id), as stg_matomo__actions:
    the actions of every record (Matomo visit, file-dropped page view) with a row from a batch
    after the watermark are classified again and replace the record's old ones. An action
    depends only on the actions of its visit, and a visit is complete in what is read again: a
    Matomo visit is one record, and every file-dropped row carries its visitor's latest
    `_extracted_at` (int_web_actions_unioned), so all of a visitor's file-dropped rows are read
    again together. -#}
{{ config(**group_replace_config(['source', 'record_id'])) }}

with

unioned_actions as (
    select * from {{ ref('int_web_actions_unioned') }}
),

actions as (
    {% if is_incremental() -%}
    {{ rows_of_changed_groups('unioned_actions', ['source', 'record_id']) }}
    {%- else -%}
        select * from unioned_actions
    {%- endif %}
),

page_categories as (
    select * from {{ ref('page_categories') }}
),

action_types as (
    select
        action_type as action_kind,
        is_page_view,
        is_session_activity,
        nullif(trim(touchpoint_type), '') as kind_touchpoint_type
    from {{ ref('web_action_types') }}
),

kinds as (
    select
        actions.*,
        coalesce(known_types.action_kind, 'other') as action_kind
    from actions
    left join action_types as known_types
        on actions.action_type = known_types.action_kind
),

parsed as (
    select
        kinds.*,
        action_types.is_page_view,
        action_types.is_session_activity,
        action_types.kind_touchpoint_type,
        {{ url_path('kinds.url') }} as url_path,
        {{ url_parameter('kinds.url', 'utm_source') }} as utm_source,
        {{ url_parameter('kinds.url', 'utm_medium') }} as utm_medium,
        {{ url_parameter('kinds.url', 'utm_campaign') }} as utm_campaign,
        {{ url_parameter('kinds.url', 'utm_content') }} as utm_content,
        {{ url_parameter('kinds.url', 'utm_term') }} as utm_term,
        {{ url_parameter('kinds.url', 'mc_cid') }} as mailchimp_campaign_id,
        {{ url_parameter('kinds.url', 'mc_eid') }} as email_subscriber_id
    from kinds
    inner join action_types
        on kinds.action_kind = action_types.action_kind
),

categorised as (
    select
        parsed.action_id,
        page_categories.page_category,
        coalesce(page_categories.is_product_page, false) as is_product_page,
        row_number() over (
            partition by parsed.action_id
            order by length(page_categories.path_prefix) desc
        ) as category_rank
    from parsed
    inner join page_categories
        on substring(parsed.url_path, 1, length(page_categories.path_prefix)) = page_categories.path_prefix
    where parsed.is_page_view
),

classified as (
    select
        parsed.*,
        categorised.page_category,
        coalesce(categorised.is_product_page, false) as is_product_page,
        parsed.is_page_view and (
            parsed.utm_source is not null
            or parsed.utm_medium is not null
            or parsed.utm_campaign is not null
            or parsed.mailchimp_campaign_id is not null
        ) as has_campaign_parameters,
        case
            when parsed.is_page_view and coalesce(categorised.is_product_page, false) then 'product_view'
            when parsed.is_page_view then 'page_view'
            when
                parsed.action_kind = 'event'
                and lower(parsed.event_category) = 'form'
                and lower(parsed.event_action) in ('newsletter_signup', 'lead_form', 'contact')
                then 'form_submit'
            when
                parsed.action_kind = 'event'
                and lower(parsed.event_category) = 'ecommerce'
                and lower(parsed.event_action) = 'add_to_cart'
                then 'add_to_cart'
            else parsed.kind_touchpoint_type
        end as touchpoint_type
    from parsed
    left join categorised
        on
            parsed.action_id = categorised.action_id
            and categorised.category_rank = 1
),

sourced as (
    select
        classified.*,
        -- the campaign parameters as the URL carries them (contracts §6.5 compares these)
        case
            when classified.has_campaign_parameters then
            {{ dbt.concat([
                "coalesce(" ~ url_parameter_raw('url', 'utm_source') ~ ", '')", "'|'",
                "coalesce(" ~ url_parameter_raw('url', 'utm_medium') ~ ", '')", "'|'",
                "coalesce(" ~ url_parameter_raw('url', 'utm_campaign') ~ ", '')", "'|'",
                "coalesce(" ~ url_parameter_raw('url', 'mc_cid') ~ ", '')"
            ]) }}
        end as campaign_key,
        case
            when classified.has_campaign_parameters or classified.visit_referrer_type is not null
                then classified.action_id
        end as arrival_action_id,
        case
            when classified.has_campaign_parameters
                then coalesce(lower(classified.utm_source), case when classified.mailchimp_campaign_id is not null then 'mailchimp' end)
            else classified.visit_traffic_source
        end as arrival_traffic_source,
        case
            when classified.has_campaign_parameters
                then coalesce(lower(classified.utm_medium), case when classified.mailchimp_campaign_id is not null then 'email' end)
            else classified.visit_traffic_medium
        end as arrival_traffic_medium,
        case
            when classified.has_campaign_parameters then coalesce(classified.utm_campaign, classified.mailchimp_campaign_id)
            else classified.visit_campaign
        end as arrival_campaign,
        case when classified.has_campaign_parameters then 'campaign' else classified.visit_referrer_type end
            as arrival_referrer_type
    from classified
),

continued as (
    select
        *,
        {{ last_non_null('arrival_action_id',
            'partition by source, visit_id order by action_index
             rows between unbounded preceding and current row') }} as entry_action_id
    from sourced
),

attributed as (
    select
        continued.*,
        arrivals.arrival_traffic_source as traffic_source,
        arrivals.arrival_traffic_medium as traffic_medium,
        arrivals.arrival_campaign as campaign,
        coalesce(arrivals.arrival_referrer_type, 'direct') as referrer_type
    from continued
    left join sourced as arrivals
        on continued.entry_action_id = arrivals.action_id
),

final as (
    select
        attributed.*,
        channels.channel{{ group_bucket_column(['source', 'record_id'], 'attributed') }}  -- noqa: LT02
    from attributed
    left join {{ channel_mapping('attributed') }} as channels
        on {{ channel_join('attributed', 'channels') }}
)

select * from final
