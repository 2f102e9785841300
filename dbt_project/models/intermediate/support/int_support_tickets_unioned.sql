{#- Every support ticket of every support source in one shape: Zendesk tickets with their latest
    ticket metric set (calendar minutes), and the rows of the `tickets` file drop (contracts §4),
    which carry their reply and resolution times themselves.

    removal_reason marks the tickets no support mart counts (contracts §1.4, DECISIONS.md
    "Deleted and merged tickets"): `deleted` — the support tool deleted it (Zendesk status
    `deleted`; a file drop's status `deleted`); `merged` — a merge closed it into another ticket,
    which carries the conversation on (Zendesk tag `closed_by_merge`; a file drop's status
    `merged`). They stay here, so identity still reads their requester, and are counted in
    fct_removed_records. -#}

with

zendesk_tickets as (
    select * from {{ ref('stg_zendesk__tickets') }}
),

zendesk_metrics as (
    select
        *,
        row_number() over (
            partition by ticket_id order by updated_at desc, ticket_metric_id desc
        ) as metric_rank
    from {{ ref('stg_zendesk__ticket_metrics') }}
),

filedrop_tickets as (
    select * from {{ ref('stg_filedrop__tickets') }}
),

final as (
    select
        'zendesk' as source,
        zendesk_tickets.ticket_id,
        zendesk_tickets.requester_id,
        cast(null as {{ dbt.type_string() }}) as requester_email,
        zendesk_tickets.created_at,
        zendesk_tickets.ticket_status,
        zendesk_tickets.ticket_type,
        zendesk_tickets.priority,
        zendesk_tickets.via_channel,
        zendesk_metrics.replies,
        zendesk_metrics.first_reply_calendar_minutes as first_reply_minutes,
        zendesk_metrics.first_resolution_calendar_minutes as first_resolution_minutes,
        zendesk_metrics.full_resolution_calendar_minutes as full_resolution_minutes,
        zendesk_metrics.solved_at,
        zendesk_metrics.reopens,
        zendesk_tickets.satisfaction_score,
        case
            when zendesk_tickets.ticket_status = 'deleted' then 'deleted'
            when zendesk_tickets.is_closed_by_merge then 'merged'
        end as removal_reason,
        zendesk_tickets.updated_at,
        zendesk_tickets._extracted_at
    from zendesk_tickets
    left join zendesk_metrics
        on
            zendesk_tickets.ticket_id = zendesk_metrics.ticket_id
            and zendesk_metrics.metric_rank = 1
    union all
    select
        'filedrop' as source,
        ticket_id,
        requester_id,
        requester_email,
        created_at,
        ticket_status,
        cast(null as {{ dbt.type_string() }}) as ticket_type,
        cast(null as {{ dbt.type_string() }}) as priority,
        via_channel,
        cast(null as {{ dbt.type_bigint() }}) as replies,
        cast(first_reply_minutes as double) as first_reply_minutes,
        cast(null as double) as first_resolution_minutes,
        cast(full_resolution_minutes as double) as full_resolution_minutes,
        solved_at,
        reopens,
        cast(null as {{ dbt.type_string() }}) as satisfaction_score,
        case when ticket_status in ('deleted', 'merged') then ticket_status end as removal_reason,
        updated_at,
        _extracted_at
    from filedrop_tickets
)

select * from final
