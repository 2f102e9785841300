{#- Every email campaign of every email source: Mailchimp campaign and automation-email reports,
    and the campaigns the `email_events` file drop names (contracts §4). A file-dropped
    campaign's title is the latest campaign_name its events give, its send time its first `sent`
    event, its type unknown (the drop does not say regular or automation). -#}

with

mailchimp_campaigns as (
    select * from {{ ref('stg_mailchimp__campaigns') }}
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
        sent_at
    from mailchimp_campaigns
    union all
    select
        'filedrop' as source,
        campaign_id,
        campaign_title,
        cast(null as {{ dbt.type_string() }}) as campaign_type,
        sent_at
    from filedrop_campaigns
)

select * from final
