{#- Mailchimp report records (sent_to, email_activity events, unsubscribes) with the person of
    their record (identity_record_persons; records of erased persons left out), one row per
    record or event, tagged with `event_type` (sent, soft/hard bounce at send, open, click,
    bounce, unsubscribe). The key of the person × campaign grain: the person, or the
    recipient (`campaign_id:email_id`) when the address belongs to no person (a blocked
    address). -#}

with

sent_to as (
    select * from {{ ref('stg_mailchimp__sent_to') }}
),

email_activity as (
    select * from {{ ref('stg_mailchimp__email_activity') }}
),

unsubscribes as (
    select * from {{ ref('stg_mailchimp__unsubscribes') }}
),

campaigns as (
    select * from {{ ref('stg_mailchimp__campaigns') }}
),

record_persons as (
    select
        stream,
        record_id,
        person_id
    from {{ source('identity', 'identity_record_persons') }}
    where source = 'mailchimp'
),

suppressed_records as (
    select distinct
        stream,
        record_id
    from {{ source('identity', 'identity_suppressed_records') }}
    where source = 'mailchimp'
),

events as (
    select
        'sent_to' as stream,
        sent_to.campaign_recipient_id as record_id,
        sent_to.campaign_recipient_id,
        sent_to.campaign_id,
        case when sent_to.delivery_status = 'sent' then 'sent' else 'send_failed' end as event_type,
        campaigns.sent_at as occurred_at,
        cast(null as {{ dbt.type_string() }}) as url
    from sent_to
    left join campaigns
        on sent_to.campaign_id = campaigns.campaign_id
    union all
    select
        'email_activity' as stream,
        campaign_recipient_id as record_id,
        campaign_recipient_id,
        campaign_id,
        activity_type as event_type,
        occurred_at,
        url
    from email_activity
    where activity_type in ('open', 'click', 'bounce')
    union all
    select
        'unsubscribes' as stream,
        unsubscribe_id as record_id,
        unsubscribe_id as campaign_recipient_id,
        campaign_id,
        'unsubscribe' as event_type,
        unsubscribed_at as occurred_at,
        cast(null as {{ dbt.type_string() }}) as url
    from unsubscribes
),

final as (
    select
        events.stream,
        events.record_id,
        events.campaign_recipient_id,
        events.campaign_id,
        record_persons.person_id,
        coalesce(record_persons.person_id, {{ dbt.concat(["'recipient:'", 'events.campaign_recipient_id']) }})
            as recipient_key,
        events.event_type,
        events.occurred_at,
        events.url
    from events
    left join record_persons
        on
            events.stream = record_persons.stream
            and events.record_id = record_persons.record_id
    left join suppressed_records
        on
            events.stream = suppressed_records.stream
            and events.record_id = suppressed_records.record_id
    where suppressed_records.record_id is null
)

select * from final
