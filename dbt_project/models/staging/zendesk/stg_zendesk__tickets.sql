{#- Every ticket the incremental export returns, deleted ones (status `deleted`) and those a
    merge closed (tag `closed_by_merge`) included: int_support_tickets_unioned decides what
    counts (contracts §1.4). -#}

with

parsed as (
    {{ parsed_landed_records('zendesk', 'tickets', stream_structure('zendesk', 'tickets'), 'ticket') }}
),

final as (
    select
        record_id as ticket_id,
        ticket.requester_id,
        ticket.submitter_id,
        ticket.assignee_id,
        {{ iso_to_utc_timestamp('ticket.created_at') }} as created_at,
        {{ iso_to_utc_timestamp('ticket.updated_at') }} as updated_at,
        ticket.subject,
        lower(ticket.status) as ticket_status,
        lower(ticket.type) as ticket_type,
        lower(ticket.priority) as priority,
        lower(ticket.via.channel) as via_channel,
        ticket.tags,
        coalesce({{ list_has('ticket.tags', "'closed_by_merge'") }}, false) as is_closed_by_merge,
        lower(ticket.satisfaction_rating.score) as satisfaction_score,
        record_updated_at,
        _extracted_at,
        _run_id
    from parsed
)

select * from final
