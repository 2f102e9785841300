{#- Every satisfaction rating of every support source in one shape: Zendesk satisfaction ratings
    and the rows of the `satisfaction_ratings` file drop (contracts §4). A file-dropped rating
    without a requester is its ticket's requester's. ticket_removal_reason carries the rated
    ticket's removal (int_support_tickets_unioned): the rating of a removed ticket is no
    rating the marts count. -#}

with

zendesk_ratings as (
    select * from {{ ref('stg_zendesk__satisfaction_ratings') }}
),

filedrop_ratings as (
    select * from {{ ref('stg_filedrop__satisfaction_ratings') }}
),

filedrop_tickets as (
    select * from {{ ref('stg_filedrop__tickets') }}
),

removed_tickets as (
    select
        source,
        ticket_id,
        removal_reason
    from {{ ref('int_support_tickets_unioned') }}
    where removal_reason is not null
),

unioned as (
    select
        'zendesk' as source,
        satisfaction_rating_id,
        ticket_id,
        requester_id,
        satisfaction_score,
        created_at,
        _extracted_at
    from zendesk_ratings
    union all
    select
        'filedrop' as source,
        filedrop_ratings.satisfaction_rating_id,
        filedrop_ratings.ticket_id,
        coalesce(nullif(trim(filedrop_ratings.requester_id), ''), filedrop_tickets.requester_id) as requester_id,
        filedrop_ratings.satisfaction_score,
        filedrop_ratings.created_at,
        filedrop_ratings._extracted_at
    from filedrop_ratings
    left join filedrop_tickets
        on filedrop_ratings.ticket_id = filedrop_tickets.ticket_id
),

final as (
    select
        unioned.*,
        removed_tickets.removal_reason as ticket_removal_reason
    from unioned
    left join removed_tickets
        on
            unioned.source = removed_tickets.source
            and unioned.ticket_id = removed_tickets.ticket_id
)

select * from final
