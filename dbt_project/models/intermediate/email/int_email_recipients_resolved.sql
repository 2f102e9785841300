{#- Every email event (int_email_events_unioned: Mailchimp sends, activity events and
    unsubscribes; file-dropped email events) with the person of its record
    (int_record_persons; records of erased persons left out). The key of the person ×
    campaign grain: the person, or the recipient (`campaign_recipient_id`) when the address
    belongs to no person (a blocked address); an event naming no campaign, its record. -#}

with

events as (
    select * from {{ ref('int_email_events_unioned') }}
),

record_persons as (
    select * from {{ ref('int_record_persons') }}
),

final as (
    select
        events.source,
        events.stream,
        events.record_id,
        events.campaign_recipient_id,
        events.campaign_id,
        record_persons.person_id,
        coalesce(
            record_persons.person_id,
            {{ dbt.concat(["'recipient:'", 'coalesce(events.campaign_recipient_id, events.record_id)']) }}
        )
            as recipient_key,
        events.event_type,
        events.occurred_at,
        events.url
    from events
    left join record_persons
        on {{ same_record('events', 'record_persons') }}
    where not coalesce(record_persons.is_suppressed, false)
)

select * from final
