{#- Every email event of every email source in one shape, tagged with `event_type`: Mailchimp
    sends (sent_to: `sent`, or `send_failed` for a soft/hard bounce at send), activity events
    (open, click, bounce; deduplicated at event grain in staging) and unsubscribes, and the rows
    of the `email_events` file drop (sent, open, click, bounce, unsubscribe; contracts §4).

    A send's time is the recipient's: the campaign's send_time for a Mailchimp campaign sent in
    one go (regular, plain-text, RSS; seed email_campaign_types), unknown (null) for A/B and
    multivariate tests (the winner goes out later), automation emails and unknown types
    (Mailchimp gives no per-recipient time, contracts §1.2), the event's own time in a file drop. `campaign_recipient_id` names the recipient of a
    campaign (Mailchimp `campaign_id:email_id`; file drop `campaign_id:subscriber_id`, else the
    email; both normalised as identity normalises them, contracts §5.4); `event_key` tells apart the events of one record. -#}

with

campaigns as (
    select * from {{ ref('int_email_campaigns_unioned') }}
),

sent_to as (
    select
        sent_to.*,
        case when campaigns.is_sent_at_send_time then campaigns.sent_at end as sent_at
    from {{ ref('stg_mailchimp__sent_to') }} as sent_to
    left join campaigns
        on
            campaigns.source = 'mailchimp'
            and sent_to.campaign_id = campaigns.campaign_id
),

email_activity as (
    select * from {{ ref('stg_mailchimp__email_activity') }}
    where activity_type in ('open', 'click', 'bounce')
),

unsubscribes as (
    select * from {{ ref('stg_mailchimp__unsubscribes') }}
),

filedrop_events as (
    select * from {{ ref('stg_filedrop__email_events') }}
    where event_type in ('sent', 'open', 'click', 'bounce', 'unsubscribe')
),

unioned as (
    select
        'mailchimp' as source,
        'sent_to' as stream,
        campaign_recipient_id as record_id,
        '' as event_key,
        campaign_id,
        campaign_recipient_id,
        case when delivery_status = 'sent' then 'sent' else 'send_failed' end as event_type,
        sent_at as occurred_at,
        cast(null as {{ dbt.type_string() }}) as url,
        _extracted_at
    from sent_to
    union all
    select
        'mailchimp' as source,
        'email_activity' as stream,
        campaign_recipient_id as record_id,
        email_activity_id as event_key,
        campaign_id,
        campaign_recipient_id,
        activity_type as event_type,
        occurred_at,
        url,
        _extracted_at
    from email_activity
    union all
    select
        'mailchimp' as source,
        'unsubscribes' as stream,
        unsubscribe_id as record_id,
        '' as event_key,
        campaign_id,
        unsubscribe_id as campaign_recipient_id,
        'unsubscribe' as event_type,
        unsubscribed_at as occurred_at,
        cast(null as {{ dbt.type_string() }}) as url,
        _extracted_at
    from unsubscribes
    union all
    select
        'filedrop' as source,
        'email_events' as stream,
        email_event_id as record_id,
        '' as event_key,
        campaign_id,
        {{ dbt.concat(['campaign_id', "':'", "coalesce(nullif(" ~ normalised_identifier('email_subscriber_id', 'subscriber_id') ~ ", ''), "
                        ~ normalised_identifier('email', 'email') ~ ")"]) }}
            as campaign_recipient_id,
        event_type,
        occurred_at,
        url,
        _extracted_at
    from filedrop_events
),

final as (
    select
        unioned.*,
        campaigns.campaign_title
    from unioned
    left join campaigns
        on
            unioned.source = campaigns.source
            and unioned.campaign_id = campaigns.campaign_id
)

select * from final
