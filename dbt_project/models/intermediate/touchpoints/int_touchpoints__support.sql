{#- Support touchpoints (contracts §6.1) of every support source (Zendesk, file drops): tickets
    created and satisfaction ratings (good/bad; touchpoint_score 1/0). Channel Support
    (contracts §6.6); traffic source the support tool when it is a named vendor. A ticket the
    support tool deleted or merged into another, and its ratings, are no touchpoints. -#}

with

tickets as (
    select * from {{ ref('int_support_tickets_unioned') }}
    where
        created_at is not null
        and removal_reason is null
),

ratings as (
    select * from {{ ref('int_satisfaction_ratings_unioned') }}
    where
        satisfaction_score in ('good', 'bad')
        and created_at is not null
        and ticket_removal_reason is null
),

final as (
    select
        {{ touchpoint_columns('source', "'tickets'", 'ticket_id', "'ticket_created'", "''", 'created_at',
                              "'Support'", "nullif(source, 'filedrop')", 'via_channel') }}
    from tickets
    union all
    select
        {{ touchpoint_columns('source', "'satisfaction_ratings'", 'satisfaction_rating_id', "'csat_response'", "''",
                              'created_at', "'Support'", "nullif(source, 'filedrop')", "'csat'",
                              touchpoint_score="case when satisfaction_score = 'good' then 1 else 0 end") }}
    from ratings
)

select * from final
