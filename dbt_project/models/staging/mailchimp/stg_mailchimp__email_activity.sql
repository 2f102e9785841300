{#- Event stream: every landed version is unnested and events are deduplicated at event grain
    (recipient, action, timestamp, url), since the API may return a recipient's whole activity
    list again or only its newest part (contracts §1.2, §3). -#}
{#- Incremental by landed record (dbt_project/README.md, Incremental models). -#}
{{ config(**group_replace_config(['campaign_recipient_id'])) }}

with

parsed as (
    {{ parsed_landed_records('mailchimp', 'email_activity', stream_structure('mailchimp', 'email_activity'), 'recipient', latest=false) }}
),

events as (
    select
        parsed.record_id as campaign_recipient_id,
        parsed.recipient.campaign_id,
        parsed.recipient.email_id as subscriber_id,
        parsed.recipient.email_address as email,
        parsed.recipient.list_id,
        lower(event.action) as activity_type,
        event.type as activity_subtype,
        {{ iso_to_utc_timestamp('event.timestamp') }} as occurred_at,
        event.url,
        event.ip as ip_address,
        parsed._extracted_at,
        parsed._record_hash
    from parsed
    {{ unnest_with_index('parsed.recipient.activity', 'event', 'event_index') }}
),

keyed as (
    select
        {{ surrogate_key(['campaign_recipient_id', 'activity_type', 'occurred_at', 'url']) }} as email_activity_id,
        *
    from events
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by email_activity_id
            order by _extracted_at desc, _record_hash desc
        ) as event_version_rank
    from keyed
),

final as (
    select
        email_activity_id,
        campaign_recipient_id,
        campaign_id,
        subscriber_id,
        email,
        list_id,
        activity_type,
        activity_subtype,
        occurred_at,
        url,
        ip_address,
        _extracted_at{{ group_bucket_column(['campaign_recipient_id']) }}  -- noqa: LT02
    from deduplicated
    where event_version_rank = 1
)

select * from final
