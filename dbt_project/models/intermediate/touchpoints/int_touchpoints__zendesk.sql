{#- Support touchpoints (contracts §6.1): tickets created and satisfaction ratings (good/bad;
    touchpoint_score 1/0). Channel Support (contracts §6.6). -#}

with

tickets as (
    select * from {{ ref('stg_zendesk__tickets') }}
    where created_at is not null
),

ratings as (
    select * from {{ ref('stg_zendesk__satisfaction_ratings') }}
    where
        satisfaction_score in ('good', 'bad')
        and created_at is not null
),

final as (
    select
        {{ touchpoint_columns('zendesk', 'tickets', 'ticket_id', "'ticket_created'", "''", 'created_at',
                              "'Support'", "'zendesk'", 'via_channel') }}
    from tickets
    union all
    select
        {{ touchpoint_columns('zendesk', 'satisfaction_ratings', 'satisfaction_rating_id', "'csat_response'", "''",
                              'created_at', "'Support'", "'zendesk'", "'csat'",
                              touchpoint_score="case when satisfaction_score = 'good' then 1 else 0 end") }}
    from ratings
)

select * from final
