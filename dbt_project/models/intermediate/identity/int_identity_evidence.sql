{#- Identity evidence (contracts §5.2): one row per identifier observed in one source record,
    with exactly one anchor per record (the identifier the record belongs to). Bot visits and
    test orders are left out. Vendor records and file-dropped records of the same kind draw the
    same rules; where a record may lack its usual anchor, the next identifier it carries is the
    anchor (a file-dropped checkout without a token: its customer id, else its email). Read by
    the Polars stitching step (`pipelines.identity.stitch`). -#}

with

web_actions as (
    select * from {{ ref('int_web_actions_classified') }}
    where
        not is_bot
        and (nullif(trim(web_visitor_id), '') is not null or has_login)
),

-- The records of web visitors: Matomo visits, and file-dropped page views (a record each).
web_records as (
    select
        'matomo' as source,
        'visits' as stream,
        visit_id as record_id,
        web_user_id,
        web_visitor_id,
        has_login,
        first_action_at as observed_at
    from {{ ref('int_web_visits_flagged') }}
    where not is_bot
    union all
    select
        source,
        stream,
        record_id,
        web_user_id,
        web_visitor_id,
        has_login,
        occurred_at as observed_at
    from web_actions
    where source = 'filedrop'
),

logged_in_web_records as (
    select * from web_records
    where has_login
),

anonymous_web_records as (
    select * from web_records
    where not has_login
),

members as (
    select
        'mailchimp' as source,
        'members' as stream,
        subscriber_id as record_id,
        email_subscriber_id,
        email,
        coalesce(opted_in_at, signed_up_at, last_changed_at) as observed_at
    from {{ ref('stg_mailchimp__members') }}
    union all
    select
        'filedrop' as source,
        'email_members' as stream,
        subscriber_id as record_id,
        subscriber_id as email_subscriber_id,
        email,
        coalesce(subscribed_at, updated_at) as observed_at
    from {{ ref('stg_filedrop__email_members') }}
),

filedrop_email_events as (
    select * from {{ ref('stg_filedrop__email_events') }}
),

campaigns as (
    select * from {{ ref('stg_mailchimp__campaigns') }}
),

recipients as (
    select
        sent_to.campaign_recipient_id,
        sent_to.email,
        coalesce(campaigns.sent_at, sent_to.last_opened_at) as observed_at
    from {{ ref('stg_mailchimp__sent_to') }} as sent_to
    left join campaigns
        on sent_to.campaign_id = campaigns.campaign_id
),

email_activity as (
    select
        campaign_recipient_id,
        min(email) as email,
        min(occurred_at) as observed_at
    from {{ ref('stg_mailchimp__email_activity') }}
    group by campaign_recipient_id
),

unsubscribes as (
    select * from {{ ref('stg_mailchimp__unsubscribes') }}
),

orders as (
    select * from {{ ref('stg_shopify__orders') }}
    where not is_test
),

filedrop_orders as (
    select * from {{ ref('stg_filedrop__orders') }}
    where not coalesce(is_test, false)
),

customers as (
    select
        'shopify' as source,
        shop_customer_id,
        email,
        phone,
        created_at
    from {{ ref('stg_shopify__customers') }}
    union all
    select
        'filedrop' as source,
        shop_customer_id,
        email,
        phone,
        created_at
    from {{ ref('stg_filedrop__customers') }}
),

checkouts as (
    select
        'shopify' as source,
        checkout_id,
        checkout_token,
        shop_customer_id,
        email,
        customer_email,
        created_at
    from {{ ref('stg_shopify__checkouts') }}
    union all
    select
        'filedrop' as source,
        checkout_id,
        checkout_token,
        shop_customer_id,
        email,
        cast(null as {{ dbt.type_string() }}) as customer_email,
        created_at
    from {{ ref('stg_filedrop__checkouts') }}
),

tickets as (
    select * from {{ ref('int_support_tickets_unioned') }}
),

satisfaction_ratings as (
    select * from {{ ref('int_satisfaction_ratings_unioned') }}
),

support_users as (
    select * from {{ ref('stg_zendesk__users') }}
),

nps_responses as (
    select * from {{ ref('stg_filedrop__nps_responses') }}
),

reviews as (
    select * from {{ ref('stg_filedrop__reviews') }}
),

form_fills as (
    select * from web_actions
    where touchpoint_type = 'form_submit'
),

click_throughs as (
    select * from web_actions
    where email_subscriber_id is not null
),

evidence as (
    {{ identity_evidence_rows('logged_in_web_records', 'source', 'stream', 'login', 'record_id', 'observed_at') }}
    union all
    {{ identity_evidence_rows('anonymous_web_records', 'source', 'stream', 'visit', 'record_id', 'observed_at') }}
    union all
    {{ identity_evidence_rows('form_fills', 'source', 'stream', 'form_fill', 'record_id', 'occurred_at') }}
    union all
    {{ identity_evidence_rows('click_throughs', 'source', 'stream', 'email_click_through', 'record_id', 'occurred_at') }}
    union all
    {{ identity_evidence_rows('members', 'source', 'stream', 'email_membership', 'record_id', 'observed_at') }}
    union all
    {{ identity_evidence_rows('recipients', "'mailchimp'", "'sent_to'", 'email_activity', 'campaign_recipient_id', 'observed_at') }}
    union all
    {{ identity_evidence_rows('email_activity', "'mailchimp'", "'email_activity'", 'email_activity', 'campaign_recipient_id', 'observed_at') }}
    union all
    {{ identity_evidence_rows('unsubscribes', "'mailchimp'", "'unsubscribes'", 'email_activity', 'unsubscribe_id', 'unsubscribed_at') }}
    union all
    {{ identity_evidence_rows('filedrop_email_events', "'filedrop'", "'email_events'", 'email_activity', 'email_event_id', 'occurred_at') }}
    union all
    {{ identity_evidence_rows('orders', "'shopify'", "'orders'", 'order', 'order_id', 'created_at') }}
    union all
    {{ identity_evidence_rows('filedrop_orders', "'filedrop'", "'orders'", 'order', 'order_id', 'created_at') }}
    union all
    {{ identity_evidence_rows('customers', 'source', "'customers'", 'shop_customer', 'shop_customer_id', 'created_at') }}
    union all
    {{ identity_evidence_rows('checkouts', 'source', "'checkouts'", 'checkout', 'checkout_id', 'created_at') }}
    union all
    {{ identity_evidence_rows('tickets', 'source', "'tickets'", 'ticket', 'ticket_id', 'created_at') }}
    union all
    {{ identity_evidence_rows('satisfaction_ratings', 'source', "'satisfaction_ratings'", 'ticket', 'satisfaction_rating_id', 'created_at') }}
    union all
    {{ identity_evidence_rows('support_users', "'zendesk'", "'users'", 'support_user', 'user_id', 'created_at') }}
    union all
    {{ identity_evidence_rows('nps_responses', "'filedrop'", "'nps_responses'", 'survey', 'nps_response_id', 'responded_at') }}
    union all
    {{ identity_evidence_rows('reviews', "'filedrop'", "'reviews'", 'review', 'review_id', 'reviewed_at') }}
),



{#- One row per identifier per record: an identifier seen twice in a record (the order's
    email repeated as the customer's email, two form fills with the same address) keeps the
    anchor flag, the earliest time and the anchor's rule. -#}
ranked as (
    select
        *,
        row_number() over (
            partition by source, stream, record_id, identifier_kind, identifier_value
            order by case when is_anchor then 0 else 1 end, observed_at, rule
        ) as identifier_rank,
        min(observed_at) over (
            partition by source, stream, record_id, identifier_kind, identifier_value
        ) as first_observed_at
    from evidence
),

final as (
    select
        source,
        stream,
        record_id,
        first_observed_at as observed_at,
        rule,
        identifier_kind,
        identifier_value,
        is_anchor
    from ranked
    where identifier_rank = 1
)

select * from final
