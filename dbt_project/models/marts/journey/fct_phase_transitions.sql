{#- One row per cohort month × from-phase × to-phase: how many persons moved from one phase
    spell directly into the next (fct_journey_phases: a spell and the spell after it), out of
    how many persons were ever in the from-phase, and how long the move took.
    Cohort month: the month of the person's first touchpoint (dim_persons.first_touch_at). A
    person counts once per from/to pair; the time of a move is the duration of the from-spell
    (entered from-phase → entered to-phase), of the person's first such move. -#}

with

spells as (
    select * from {{ ref('fct_journey_phases') }}
),

persons as (
    select
        person_id,
        {{ month_start('first_touch_at') }} as cohort_month
    from {{ ref('dim_persons') }}
    where first_touch_at is not null
),

journey_phases as (
    select
        lower(trim(phase)) as phase,
        phase_rank
    from {{ ref('journey_phases') }}
),

phase_persons as (
    select
        persons.cohort_month,
        spells.phase,
        count(distinct spells.person_id) as persons_in_phase
    from spells
    inner join persons
        on spells.person_id = persons.person_id
    group by persons.cohort_month, spells.phase
),

first_moves as (
    select
        persons.cohort_month,
        spells.person_id,
        spells.phase as from_phase,
        spells.next_phase as to_phase,
        spells.duration_seconds,
        row_number() over (
            partition by spells.person_id, spells.phase, spells.next_phase order by spells.spell_number
        ) as move_rank
    from spells
    inner join persons
        on spells.person_id = persons.person_id
    where spells.next_phase is not null
),

moves as (
    select
        cohort_month,
        from_phase,
        to_phase,
        count(*) as persons,
        {{ median('duration_seconds') }} / 86400.0 as median_days_between_phases
    from first_moves
    where move_rank = 1
    group by cohort_month, from_phase, to_phase
),

final as (
    select
        moves.cohort_month,
        moves.from_phase,
        from_phases.phase_rank as from_phase_rank,
        moves.to_phase,
        to_phases.phase_rank as to_phase_rank,
        moves.persons,
        phase_persons.persons_in_phase as persons_in_from_phase,
        {{ safe_ratio('moves.persons', 'phase_persons.persons_in_phase') }} as conversion_rate,
        moves.median_days_between_phases
    from moves
    inner join phase_persons
        on
            moves.cohort_month = phase_persons.cohort_month
            and moves.from_phase = phase_persons.phase
    inner join journey_phases as from_phases
        on moves.from_phase = from_phases.phase
    inner join journey_phases as to_phases
        on moves.to_phase = to_phases.phase
)

select * from final
