{#- The person groups (int_touchpoints_persons.person_group: a person, or a record without a
    person) whose touchpoints changed since int_touchpoints_phased was last built: the
    person-grain incremental models (int_touchpoints_phased, int_journey_phase_spells) replace
    the rows of exactly these groups. Identity re-stitches the whole history every night, so a
    person id can appear, vanish (merged into another) or lose records (split).

    Found at record grain, so a night costs its new records and the records whose person
    changed, not the history of touchpoints. The candidate records are
      - the records with a touchpoint from a landing batch after the newest one
        int_touchpoints_phased holds (new and updated records, late events, re-pulled ones);
      - the records whose state changed (int_record_states against the previous run's copy,
        int_record_states_kept): another person (identities merged or split, a record gained
        or lost its anchor's person), erased, removed by its vendor, or new or gone from
        identity — and the records whose touchpoints belong to such a record's person
        (a referral belongs to the referrer's customer record).
    Only the candidates' touchpoints are compared, tonight's (with their persons attached as
    int_touchpoints_persons attaches them, macro touchpoints_with_persons, to these only) with
    the ones int_touchpoints_phased holds (as built by the previous run, before it is rebuilt
    in this one), touchpoint by touchpoint on their content and group: a
    group is affected, under its previous id and under its current one, when one of its
    touchpoints is new, is gone, moved to another group or changed content. A record re-pulled
    unchanged (Mailchimp's window re-pulls recipients every night) affects nobody.
    Nothing is looked back at by time: a late event years in the past affects its person like
    one of today. Empty in a --full-refresh run or before int_touchpoints_phased exists (the
    models build in full then); every group when int_record_states_kept does not exist yet.
    Seeds the phases depend on (journey_phase_rules, journey_phases) are not compared: after
    changing them, run --full-refresh. -#}

{%- set previous = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_touchpoints_phased'
) %}
{%- set kept_states = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_record_states_kept'
) %}
-- depends_on: {{ ref('int_touchpoints') }}
-- depends_on: {{ ref('int_record_states') }}
-- depends_on: {{ ref('int_record_persons') }}
-- depends_on: {{ ref('int_removed_records_unioned') }}

with

touchpoints as (
    select * from {{ ref('int_touchpoints') }}
),

{% if previous is not none and not flags.FULL_REFRESH -%}
previous_touchpoints as (
    select * from {{ previous }}
),

{% if kept_states is not none -%}
record_states as (
    select * from {{ ref('int_record_states') }}
),

kept_states as (
    select * from {{ kept_states }}
),

changed_states as (
    select
        coalesce(record_states.source, kept_states.source) as source,
        coalesce(record_states.stream, kept_states.stream) as stream,
        coalesce(record_states.record_id, kept_states.record_id) as record_id
    from record_states
    full outer join kept_states
        on {{ same_record('record_states', 'kept_states') }}
    where
        record_states.record_id is null
        or kept_states.record_id is null
        or record_states.record_state <> kept_states.record_state
),

candidate_records as (
    select
        source,
        stream,
        record_id
    from touchpoints
    where _extracted_at > {{ journey_warehouse.incremental_watermark(relation=previous) }}
    {#- a touchpoint's own record, then the record whose person it takes -#}
    {%- for prefix in ['', 'person_record_'] %}
    union
    select
        touchpoints.source,
        touchpoints.stream,
        touchpoints.record_id
    from touchpoints
    inner join changed_states
        on {{ same_record('touchpoints', 'changed_states', prefix) }}
    {%- endfor %}
),
{% else -%}
-- noqa: disable=LT02
candidate_records as (
    select
        source,
        stream,
        record_id
    from previous_touchpoints
    union
    select
        source,
        stream,
        record_id
    from touchpoints
),
-- noqa: enable=LT02
{% endif -%}

candidate_touchpoints as (
    select touchpoints.*
    from touchpoints
    inner join candidate_records
        on {{ same_record('touchpoints', 'candidate_records') }}
),

{#- as int_touchpoints_persons, for the candidates only -#}
current_touchpoints as (
    {{ touchpoints_with_persons('candidate_touchpoints') }}
),

previous_candidates as (
    select previous_touchpoints.*
    from previous_touchpoints
    inner join candidate_records
        on {{ same_record('previous_touchpoints', 'candidate_records') }}
),

{#- The columns of a touchpoint the phases and the marts read; its group. -#}
{%- set compared = ['occurred_at', 'touchpoint_type', 'channel', 'traffic_source', 'traffic_medium',
                    'campaign', 'touchpoint_value', 'touchpoint_score', 'person_group'] %}
changed as (
    select
        previous_candidates.person_group as previous_group,
        current_touchpoints.person_group as current_group
    from current_touchpoints
    full outer join previous_candidates
        on current_touchpoints.touchpoint_id = previous_candidates.touchpoint_id
    where {{ rows_differ('current_touchpoints', 'previous_candidates', 'touchpoint_id', compared) }}
),

affected as (
    select previous_group as person_group
    from changed
    where previous_group is not null
    union all
    select current_group as person_group
    from changed
    where current_group is not null
),
{% else %}
-- noqa: disable=LT02
affected as (
    select cast(null as {{ dbt.type_string() }}) as person_group
    from touchpoints
    where 1 = 0
),
-- noqa: enable=LT02
{% endif %}

final as (
    select distinct person_group
    from affected
)

select * from final
