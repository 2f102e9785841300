{#- Email touchpoints (contracts §6.1) of every email source (Mailchimp, file drops): sends with
    a known recipient send time (Mailchimp: regular, plain-text and RSS campaigns), opens, clicks, bounces,
    unsubscribes (int_email_events_unioned) and newsletter sign-ups (list members). Channel
    Email (contracts §6.6); traffic source the email tool when it is a named vendor. -#}

with

events as (
    select * from {{ ref('int_email_events_unioned') }}
    where
        event_type in ('sent', 'open', 'click', 'bounce', 'unsubscribe')
        and occurred_at is not null
),

signups as (
    select
        'mailchimp' as source,
        'members' as stream,
        subscriber_id,
        coalesce(opted_in_at, signed_up_at) as signed_up_at,
        _extracted_at
    from {{ ref('stg_mailchimp__members') }}
    union all
    select
        'filedrop' as source,
        'email_members' as stream,
        subscriber_id,
        subscribed_at as signed_up_at,
        _extracted_at
    from {{ ref('stg_filedrop__email_members') }}
),

final as (
    select
        {{ touchpoint_columns('source', 'stream', 'record_id', "'email_' || event_type", 'event_key', 'occurred_at',
                              "'Email'", "nullif(source, 'filedrop')", "'email'", 'campaign_title') }}
    from events
    union all
    select
        {{ touchpoint_columns('source', 'stream', 'subscriber_id', "'newsletter_signup'", "''", 'signed_up_at',
                              "'Email'", "nullif(source, 'filedrop')", "'email'") }}
    from signups
    where signed_up_at is not null
)

select * from final
