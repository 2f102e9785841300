{#- Phase spells (contracts §6.3), set-based. A person's phase-bearing touchpoints in order
    (occurred_at; ties: higher phase rank first, then source, stream, record_id,
    touchpoint_type, touchpoint_id); a new episode at the first touchpoint and after every gap
    of more than `journey_lapse_days`; within an episode the phase is the running maximum rank;
    a spell is a maximal run of one episode and phase, entered at its first touchpoint and
    exited when the next spell is entered.

    Incremental by person (affected_groups_config on person_id): a night recomputes the spells
    of the persons int_affected_persons lists (built in the same run as int_touchpoints_phased,
    whose changes it lists); a person's spells depend only on that person's touchpoints. -#}
{{ config(**affected_groups_config('person_id')) }}
-- depends_on: {{ ref('int_affected_persons') }}

with

phased_touchpoints as (
    select * from {{ ref('int_touchpoints_phased') }}
    where
        person_id is not null
        and phase_rank is not null
),

touchpoints as (
    {% if is_incremental() -%}
    {{ rows_of_affected_groups('phased_touchpoints', 'person_id') }}
    {%- else -%}
        select * from phased_touchpoints
    {%- endif %}
),

journey_phases as (
    select
        lower(trim(phase)) as phase,
        phase_rank
    from {{ ref('journey_phases') }}
),

ordered as (
    select
        *,
        row_number() over (
            partition by person_id
            order by occurred_at asc, phase_rank desc, source asc, stream asc, record_id asc, touchpoint_type asc, touchpoint_id asc
        ) as touchpoint_sequence,
        lag(occurred_at) over (
            partition by person_id
            order by occurred_at asc, phase_rank desc, source asc, stream asc, record_id asc, touchpoint_type asc, touchpoint_id asc
        ) as previous_occurred_at
    from touchpoints
),

episodes as (
    select
        *,
        sum(case when is_episode_start then 1 else 0 end) over (
            partition by person_id order by touchpoint_sequence rows between unbounded preceding and current row
        ) as episode_number
    from (
        select
            *,
            (
                previous_occurred_at is null
                or occurred_at > {{ dbt.dateadd('day', var('journey_lapse_days'), 'previous_occurred_at') }}
            ) as is_episode_start
        from ordered
    ) as gaps
),

running as (
    select
        *,
        max(phase_rank) over (
            partition by person_id, episode_number order by touchpoint_sequence
            rows between unbounded preceding and current row
        ) as running_phase_rank
    from episodes
),

spell_flagged as (
    select
        *,
        (
            is_episode_start
            or running_phase_rank <> lag(running_phase_rank) over (partition by person_id order by touchpoint_sequence)
        ) as is_spell_start
    from running
),

spell_numbered as (
    select
        *,
        sum(case when is_spell_start then 1 else 0 end) over (
            partition by person_id order by touchpoint_sequence rows between unbounded preceding and current row
        ) as spell_number
    from spell_flagged
),

spells as (
    select
        person_id,
        spell_number,
        min(episode_number) as episode_number,
        min(running_phase_rank) as phase_rank,
        min(occurred_at) as entered_at,
        max(occurred_at) as last_touchpoint_at,
        count(*) as touchpoints_in_phase
    from spell_numbered
    group by person_id, spell_number
),

spell_entries as (
    select
        person_id,
        spell_number,
        touchpoint_id as entry_touchpoint_id,
        touchpoint_type as entry_touchpoint_type,
        channel as entry_channel
    from spell_numbered
    where is_spell_start
),

final as (
    select
        {{ surrogate_key(['spells.person_id', 'spells.spell_number']) }} as journey_phase_spell_id,
        spells.person_id,
        journey_phases.phase,
        spells.phase_rank,
        cast(spells.spell_number as integer) as spell_number,
        cast(spells.episode_number as integer) as episode_number,
        spells.entered_at,
        lead(spells.entered_at) over (partition by spells.person_id order by spells.spell_number) as exited_at,
        spells.last_touchpoint_at,
        cast(spells.touchpoints_in_phase as integer) as touchpoints_in_phase,
        spell_entries.entry_touchpoint_id,
        spell_entries.entry_touchpoint_type,
        spell_entries.entry_channel,
        lead(journey_phases.phase) over (partition by spells.person_id order by spells.spell_number) as next_phase,
        lead(spells.spell_number) over (partition by spells.person_id order by spells.spell_number) is null as is_current{{ group_bucket_column(['person_id'], 'spells') }}  -- noqa: LT02
    from spells
    inner join spell_entries
        on
            spells.person_id = spell_entries.person_id
            and spells.spell_number = spell_entries.spell_number
    inner join journey_phases
        on spells.phase_rank = journey_phases.phase_rank
)

select * from final
