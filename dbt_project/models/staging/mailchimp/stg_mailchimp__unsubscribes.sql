with

parsed as (
    {{ parsed_landed_records('mailchimp', 'unsubscribes', stream_structure('mailchimp', 'unsubscribes'), 'unsubscribe') }}
),

final as (
    select
        record_id as unsubscribe_id,
        unsubscribe.campaign_id,
        unsubscribe.email_id as subscriber_id,
        unsubscribe.email_address as email,
        unsubscribe.list_id,
        {{ iso_to_utc_timestamp('unsubscribe.timestamp') }} as unsubscribed_at,
        unsubscribe.reason as unsubscribe_reason,
        record_updated_at,
        _extracted_at,
        _run_id
    from parsed
)

select * from final
