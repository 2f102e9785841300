{#- One row per person per phase spell (contracts §6.3). -#}

with

spells as (
    select * from {{ ref('int_journey_phase_spells') }}
),

final as (
    select
        journey_phase_spell_id,
        person_id,
        phase,
        phase_rank,
        spell_number,
        episode_number,
        entered_at,
        exited_at,
        {{ seconds_between('entered_at', 'exited_at') }} as duration_seconds,
        touchpoints_in_phase,
        entry_channel,
        entry_touchpoint_type,
        next_phase,
        is_current
    from spells
)

select * from final
