with

parsed as (
    {{ parsed_landed_records('mailchimp', 'campaigns', stream_structure('mailchimp', 'campaigns'), 'report') }}
),

final as (
    select
        record_id as campaign_id,
        report.campaign_title,
        lower(report.type) as campaign_type,
        report.list_id,
        report.subject_line,
        {{ json_number('report.emails_sent', integral=true) }} as emails_sent,
        {{ iso_to_utc_timestamp('report.send_time') }} as sent_at,
        record_updated_at,
        _extracted_at,
        _run_id
    from parsed
)

select * from final
