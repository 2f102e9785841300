with

parsed as (
    {{ parsed_landed_records('zendesk', 'satisfaction_ratings', stream_structure('zendesk', 'satisfaction_ratings'), 'rating') }}
),

final as (
    select
        record_id as satisfaction_rating_id,
        rating.ticket_id,
        rating.requester_id,
        rating.assignee_id,
        lower(rating.score) as satisfaction_score,
        rating.comment as rating_comment,
        rating.reason as rating_reason,
        {{ iso_to_utc_timestamp('rating.created_at') }} as created_at,
        {{ iso_to_utc_timestamp('rating.updated_at') }} as updated_at,
        record_updated_at,
        _extracted_at,
        _run_id
    from parsed
)

select * from final
