{#- Numbers are read as text and typed with json_number: Matomo sends them as JSON numbers or
    numeric strings, depending on version and field (contracts §1.1). -#}
{#- Incremental by landed record (dbt_project/README.md, Incremental models). -#}
{{ config(**group_replace_config(['visit_id'])) }}

with

parsed as (
    {{ parsed_landed_records('matomo', 'visits', stream_structure('matomo', 'visits'), 'visit') }}
),

final as (
    select
        record_id as visit_id,
        {{ json_number('visit.idSite', integral=true) }} as site_id,
        visit.visitorId as web_visitor_id,
        nullif(trim(visit.userId), '') as web_user_id,
        visit.fingerprint as device_fingerprint,
        {{ json_number('visit.visitCount', integral=true) }} as visit_count,
        visit.visitorType as visitor_type,
        {{ epoch_seconds_to_timestamp(json_number('visit.firstActionTimestamp')) }} as first_action_at,
        {{ epoch_seconds_to_timestamp(json_number('visit.lastActionTimestamp')) }} as last_action_at,
        {{ epoch_seconds_to_timestamp(json_number('visit.serverTimestamp')) }} as server_recorded_at,
        {{ json_number('visit.visitDuration') }} as visit_duration_seconds,
        {{ json_number('visit.actions', integral=true) }} as action_count,
        lower(visit.referrerType) as referrer_type,
        visit.referrerName as referrer_name,
        visit.referrerKeyword as referrer_keyword,
        visit.referrerUrl as referrer_url,
        visit.campaignName as campaign_name,
        visit.campaignSource as campaign_source,
        visit.campaignMedium as campaign_medium,
        visit.campaignKeyword as campaign_keyword,
        visit.campaignContent as campaign_content,
        visit.deviceType as device_type,
        visit.browserName as browser_name,
        visit.operatingSystem as operating_system,
        nullif(trim(visit.userId), '') is not null as has_login,
        record_updated_at,
        _extracted_at,
        _run_id{{ group_bucket_column(['visit_id']) }}  -- noqa: LT02
    from parsed
)

select * from final
