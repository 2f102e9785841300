with

parsed as (
    {{ parsed_landed_records('zendesk', 'ticket_metrics', stream_structure('zendesk', 'ticket_metrics'), 'metric') }}
),

final as (
    select
        record_id as ticket_metric_id,
        metric.ticket_id,
        {{ iso_to_utc_timestamp('metric.created_at') }} as created_at,
        {{ iso_to_utc_timestamp('metric.updated_at') }} as updated_at,
        metric.reopens,
        metric.replies,
        metric.reply_time_in_minutes.calendar as first_reply_calendar_minutes,
        metric.reply_time_in_minutes.business as first_reply_business_minutes,
        metric.first_resolution_time_in_minutes.calendar as first_resolution_calendar_minutes,
        metric.first_resolution_time_in_minutes.business as first_resolution_business_minutes,
        metric.full_resolution_time_in_minutes.calendar as full_resolution_calendar_minutes,
        metric.full_resolution_time_in_minutes.business as full_resolution_business_minutes,
        {{ iso_to_utc_timestamp('metric.solved_at') }} as solved_at,
        record_updated_at,
        _extracted_at,
        _run_id
    from parsed
)

select * from final
