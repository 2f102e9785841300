with

parsed as (
    {{ parsed_landed_records('mailchimp', 'members', stream_structure('mailchimp', 'members'), 'member') }}
),

final as (
    select
        record_id as subscriber_id,
        member.email_address as email,
        member.unique_email_id as email_subscriber_id,
        member.list_id,
        lower(member.status) as member_status,
        {{ iso_to_utc_timestamp('member.timestamp_signup') }} as signed_up_at,
        {{ iso_to_utc_timestamp('member.timestamp_opt') }} as opted_in_at,
        {{ iso_to_utc_timestamp('member.last_changed') }} as last_changed_at,
        member.source as signup_source,
        member.merge_fields.FNAME as first_name,
        member.merge_fields.LNAME as last_name,
        record_updated_at,
        _extracted_at,
        _run_id
    from parsed
)

select * from final
