with

parsed as (
    {{ parsed_landed_records('zendesk', 'users', stream_structure('zendesk', 'users'), 'support_user') }}
),

final as (
    select
        record_id as user_id,
        support_user.name as user_name,
        support_user.email,
        support_user.phone,
        lower(support_user.role) as user_role,
        lower(support_user.role) = 'end-user' as is_end_user,
        {{ iso_to_utc_timestamp('support_user.created_at') }} as created_at,
        {{ iso_to_utc_timestamp('support_user.updated_at') }} as updated_at,
        record_updated_at,
        _extracted_at,
        _run_id
    from parsed
)

select * from final
