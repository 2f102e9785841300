{#- Incremental by landed record (dbt_project/README.md, Incremental models). -#}
{{ config(**group_replace_config(['campaign_recipient_id'])) }}

with

parsed as (
    {{ parsed_landed_records('mailchimp', 'sent_to', stream_structure('mailchimp', 'sent_to'), 'recipient') }}
),

final as (
    select
        record_id as campaign_recipient_id,
        recipient.campaign_id,
        recipient.email_id as subscriber_id,
        recipient.email_address as email,
        recipient.list_id,
        lower(recipient.status) as delivery_status,
        {{ json_number('recipient.open_count', integral=true) }} as open_count,
        {{ iso_to_utc_timestamp('recipient.last_open') }} as last_opened_at,
        record_updated_at,
        _extracted_at,
        _run_id{{ group_bucket_column(['campaign_recipient_id']) }}  -- noqa: LT02
    from parsed
)

select * from final
