{#- Web touchpoints (contracts §6.1) of every web source (Matomo visits, file-dropped page views):
    page views, product views, site searches, downloads, form submits and add-to-carts of non-bot
    visits (seed web_action_types says which action types are touchpoints); goals, ecommerce
    orders and abandoned carts are not touchpoints (the shop's orders and checkouts are). -#}

with

web_actions as (
    select * from {{ ref('int_web_actions_classified') }}
    where
        not is_bot
        and touchpoint_type is not null
        and occurred_at is not null
),

final as (
    select
        {{ touchpoint_columns('source', 'stream', 'record_id', 'touchpoint_type', 'action_index', 'occurred_at',
                              'channel', 'traffic_source', 'traffic_medium', 'campaign') }}
    from web_actions
)

select * from final
