{#- Every email campaign of every email source: Mailchimp reports of every campaign type
    (regular, plain-text, RSS, A/B split, multivariate, automation emails and types Mailchimp may
    add), and the campaigns the `email_events` file drop names (contracts §4). A Mailchimp
    campaign's kind is its type when seed email_campaign_types lists it, else `other`, with what
    that kind means (a broadcast; recipients sent at the campaign's send time). A file-dropped
    campaign's title is the latest campaign_name its events give, its send time its first `sent`
    event, its type unknown (the drop does not say). -#}

with

campaign_types as (
    select * from {{ ref('email_campaign_types') }}
),

mailchimp_campaigns as (
    select
        campaigns.*,
        kinds.campaign_type as campaign_kind,
        kinds.is_broadcast,
        kinds.is_sent_at_send_time
    from (
        select
            stg_mailchimp__campaigns.*,
            coalesce(known_types.campaign_type, 'other') as known_kind
        from {{ ref('stg_mailchimp__campaigns') }} as stg_mailchimp__campaigns
        left join campaign_types as known_types
            on stg_mailchimp__campaigns.campaign_type = known_types.campaign_type
    ) as campaigns
    inner join campaign_types as kinds
        on campaigns.known_kind = kinds.campaign_type
),

filedrop_events as (
    select
        *,
        row_number() over (
            partition by campaign_id
            order by case when campaign_name is null then 1 else 0 end, occurred_at desc, email_event_id desc
        ) as name_rank
    from {{ ref('stg_filedrop__email_events') }}
    where campaign_id is not null
),

filedrop_campaigns as (
    select
        campaign_id,
        max(case when name_rank = 1 then campaign_name end) as campaign_title,
        min(case when event_type = 'sent' then occurred_at end) as sent_at
    from filedrop_events
    group by campaign_id
),

final as (
    select
        'mailchimp' as source,
        campaign_id,
        campaign_title,
        campaign_type,
        campaign_kind,
        is_broadcast,
        is_sent_at_send_time,
        sent_at
    from mailchimp_campaigns
    union all
    select
        'filedrop' as source,
        campaign_id,
        campaign_title,
        cast(null as {{ dbt.type_string() }}) as campaign_type,
        cast(null as {{ dbt.type_string() }}) as campaign_kind,
        cast(null as boolean) as is_broadcast,
        cast(null as boolean) as is_sent_at_send_time,
        sent_at
    from filedrop_campaigns
)

select * from final
