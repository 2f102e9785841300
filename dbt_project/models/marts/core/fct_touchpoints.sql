{#- One row per touchpoint (contracts §6.1) with its person, channel and phase. -#}

with

touchpoints as (
    select * from {{ ref('int_touchpoints_phased') }}
),

final as (
    select
        touchpoint_id,
        person_id,
        occurred_at,
        source,
        stream,
        record_id,
        touchpoint_type,
        channel,
        traffic_source,
        traffic_medium,
        campaign,
        touchpoint_value,
        touchpoint_score,
        phase,
        phase_rank,
        is_customer
    from touchpoints
)

select * from final
