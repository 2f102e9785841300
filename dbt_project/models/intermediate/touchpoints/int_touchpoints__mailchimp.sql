{#- Email touchpoints (contracts §6.1): sends of regular campaigns, opens, clicks, bounces,
    unsubscribes and newsletter sign-ups. Channel Email (contracts §6.6). -#}

with

campaigns as (
    select * from {{ ref('stg_mailchimp__campaigns') }}
),

sends as (
    select
        sent_to.*,
        campaigns.campaign_title,
        campaigns.sent_at
    from {{ ref('stg_mailchimp__sent_to') }} as sent_to
    inner join campaigns
        on sent_to.campaign_id = campaigns.campaign_id
    where
        campaigns.campaign_type = 'regular'
        and sent_to.delivery_status = 'sent'
        and campaigns.sent_at is not null
),

activity as (
    select
        email_activity.*,
        campaigns.campaign_title
    from {{ ref('stg_mailchimp__email_activity') }} as email_activity
    left join campaigns
        on email_activity.campaign_id = campaigns.campaign_id
    where
        email_activity.activity_type in ('open', 'click', 'bounce')
        and email_activity.occurred_at is not null
),

unsubscribes as (
    select
        unsubscribes.*,
        campaigns.campaign_title
    from {{ ref('stg_mailchimp__unsubscribes') }} as unsubscribes
    left join campaigns
        on unsubscribes.campaign_id = campaigns.campaign_id
    where unsubscribes.unsubscribed_at is not null
),

signups as (
    select
        *,
        coalesce(opted_in_at, signed_up_at) as signed_up_or_opted_in_at
    from {{ ref('stg_mailchimp__members') }}
    where coalesce(opted_in_at, signed_up_at) is not null
),

final as (
    select
        {{ touchpoint_columns('mailchimp', 'sent_to', 'campaign_recipient_id', "'email_sent'", "''", 'sent_at',
                              "'Email'", "'mailchimp'", "'email'", 'campaign_title') }}
    from sends
    union all
    select
        {{ touchpoint_columns('mailchimp', 'email_activity', 'campaign_recipient_id',
                              "'email_' || activity_type", 'email_activity_id', 'occurred_at',
                              "'Email'", "'mailchimp'", "'email'", 'campaign_title') }}
    from activity
    union all
    select
        {{ touchpoint_columns('mailchimp', 'unsubscribes', 'unsubscribe_id', "'email_unsubscribe'", "''",
                              'unsubscribed_at', "'Email'", "'mailchimp'", "'email'", 'campaign_title') }}
    from unsubscribes
    union all
    select
        {{ touchpoint_columns('mailchimp', 'members', 'subscriber_id', "'newsletter_signup'", "''",
                              'signed_up_or_opted_in_at', "'Email'", "'mailchimp'", "'email'") }}
    from signups
)

select * from final
