{#- One row per journey phase × entry channel (the channel of the touchpoint that opened the
    spell): where persons leave the journey. A person drops off in the phase of their current
    (last) spell unless they are a current customer: someone with a non-cancelled order whose
    latest touchpoint lies within `journey_lapse_days` of the data's latest touchpoint (the
    as-of time). A dropped-off person is lapsed when their own latest touchpoint is older than
    that. -#}

{%- set lapse_days = var('journey_lapse_days') -%}

with

spells as (
    select * from {{ ref('fct_journey_phases') }}
),

persons as (
    select * from {{ ref('dim_persons') }}
),

journey_phases as (
    select
        lower(trim(phase)) as phase,
        phase_rank
    from {{ ref('journey_phases') }}
),

as_of as (
    select max(occurred_at) as as_of_at from {{ ref('fct_touchpoints') }}
),

person_status as (
    select
        persons.person_id,
        persons.last_touch_at < {{ dbt.dateadd('day', -1 * lapse_days, 'as_of.as_of_at') }} as is_lapsed,
        persons.orders > 0
        and persons.last_touch_at >= {{ dbt.dateadd('day', -1 * lapse_days, 'as_of.as_of_at') }}
            as is_current_customer
    from persons
    cross join as_of
),

entered as (
    select
        phase,
        entry_channel,
        count(distinct person_id) as persons_entered
    from spells
    group by phase, entry_channel
),

dropped as (
    select
        spells.phase,
        spells.entry_channel,
        count(*) as persons_dropped_off,
        count(case when person_status.is_lapsed then 1 end) as persons_lapsed
    from spells
    inner join person_status
        on spells.person_id = person_status.person_id
    where
        spells.is_current
        and not person_status.is_current_customer
    group by spells.phase, spells.entry_channel
),

final as (
    select
        entered.phase,
        journey_phases.phase_rank,
        entered.entry_channel,
        entered.persons_entered,
        coalesce(dropped.persons_dropped_off, 0) as persons_dropped_off,
        coalesce(dropped.persons_lapsed, 0) as persons_lapsed,
        {{ safe_ratio('coalesce(dropped.persons_dropped_off, 0)', 'entered.persons_entered') }} as dropoff_rate
    from entered
    inner join journey_phases
        on entered.phase = journey_phases.phase
    left join dropped
        on
            entered.phase = dropped.phase
            and entered.entry_channel = dropped.entry_channel
)

select * from final
