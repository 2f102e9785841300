{#- Feedback touchpoints (file drops only) (contracts §6.1): NPS responses (touchpoint_score
    0-10) and reviews (touchpoint_score 1-5). Channel Feedback (contracts §6.6). -#}

with

nps_responses as (
    select * from {{ ref('stg_filedrop__nps_responses') }}
    where responded_at is not null
),

reviews as (
    select * from {{ ref('stg_filedrop__reviews') }}
    where reviewed_at is not null
),

final as (
    select
        {{ touchpoint_columns("'filedrop'", "'nps_responses'", 'nps_response_id', "'nps_response'", "''", 'responded_at',
                              "'Feedback'", "'nps'", "'survey'", touchpoint_score='nps_score') }}
    from nps_responses
    union all
    select
        {{ touchpoint_columns("'filedrop'", "'reviews'", 'review_id', "'review'", "''", 'reviewed_at',
                              "'Feedback'", "'reviews'", "'review'", touchpoint_score='review_rating') }}
    from reviews
)

select * from final
