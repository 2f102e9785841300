{#- One row per person × email campaign (Mailchimp regular and automation campaigns, file-dropped
    campaigns; int_email_campaigns_unioned): whether and how often the
    person was sent, opened, clicked, bounced and unsubscribed, and the first open and click.
    A person with two addresses on the list counts once (sends and events added up). Recipients
    whose address belongs to no person (a blocked address) keep one row per recipient, with a
    null person_id, so campaign totals stay complete. Erased persons' records are left out. -#}

with

events as (
    select * from {{ ref('int_email_recipients_resolved') }}
    where campaign_id is not null
),

campaigns as (
    select * from {{ ref('int_email_campaigns_unioned') }}
),

engagement as (
    select
        recipient_key,
        source,
        campaign_id,
        max(person_id) as person_id,
        count(distinct campaign_recipient_id) as addresses,
        count(case when event_type = 'sent' then 1 end) as sends,
        count(case when event_type = 'send_failed' then 1 end) as failed_sends,
        count(case when event_type = 'open' then 1 end) as opens,
        count(case when event_type = 'click' then 1 end) as clicks,
        count(case when event_type = 'bounce' then 1 end) as bounces,
        count(case when event_type = 'unsubscribe' then 1 end) as unsubscribes,
        min(case when event_type = 'open' then occurred_at end) as first_opened_at,
        min(case when event_type = 'click' then occurred_at end) as first_clicked_at,
        min(case when event_type = 'unsubscribe' then occurred_at end) as unsubscribed_at
    from events
    group by recipient_key, source, campaign_id
),

final as (
    select
        {{ surrogate_key(['engagement.recipient_key', 'engagement.campaign_id']) }} as email_engagement_id,
        engagement.person_id,
        engagement.source,
        engagement.campaign_id,
        campaigns.campaign_title,
        campaigns.campaign_type,
        campaigns.sent_at as campaign_sent_at,
        cast(engagement.addresses as integer) as addresses,
        engagement.sends > 0 as is_sent,
        cast(engagement.sends as integer) as sends,
        cast(engagement.failed_sends as integer) as failed_sends,
        engagement.opens > 0 as is_opened,
        cast(engagement.opens as integer) as opens,
        engagement.clicks > 0 as is_clicked,
        cast(engagement.clicks as integer) as clicks,
        engagement.bounces > 0 or engagement.failed_sends > 0 as is_bounced,
        cast(engagement.bounces as integer) as bounces,
        engagement.unsubscribes > 0 as is_unsubscribed,
        engagement.first_opened_at,
        engagement.first_clicked_at,
        engagement.unsubscribed_at
    from engagement
    left join campaigns
        on
            engagement.source = campaigns.source
            and engagement.campaign_id = campaigns.campaign_id
)

select * from final
