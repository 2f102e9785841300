{#- One row per journey phase of the phase model in use (seed journey_phases, contracts §6.2):
    the phases the marts' `phase` columns name, in journey order, with the label to show.
    Published so that readers (the journey report, BI tools) know every configured phase,
    including one that no person has reached yet. -#}

with

journey_phases as (
    select * from {{ ref('journey_phases') }}
),

final as (
    select
        lower(trim(phase)) as phase,
        phase_rank,
        coalesce(nullif(trim(label), ''), phase) as label
    from journey_phases
)

select * from final
