{#- The person groups (int_touchpoints_persons.person_group: a person, or a record without a
    person) whose touchpoints changed since int_touchpoints_phased was last built: the
    person-grain incremental models (int_touchpoints_phased, int_journey_phase_spells) replace
    the rows of exactly these groups. Identity re-stitches the whole history every night, so a
    person id can appear, vanish (merged into another) or lose records (split); the groups are
    therefore found by comparing tonight's touchpoints with the ones int_touchpoints_phased
    holds (read as built by the previous run, before it is rebuilt in this one), touchpoint by
    touchpoint. A group is affected, under its previous id and under its current one, when one
    of its touchpoints
      - belongs to a record with a touchpoint from a landing batch after the newest one
        int_touchpoints_phased holds (new data: new and updated records, late events);
      - is new, or is gone (its record's touchpoints changed, the record or its person was
        erased, its vendor removed it);
      - moved to another group (the record's person changed: identities merged or split, a
        record gained or lost its anchor's person).
    Every touchpoint of an affected person is recomputed; nothing is looked back at by time, so
    a late event years in the past affects its person like one of today. Empty in a
    --full-refresh run or before int_touchpoints_phased exists (the models build in full
    then). Seeds the phases depend on (journey_phase_rules, journey_phases) are not compared:
    after changing them, run --full-refresh. -#}

{%- set previous = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_touchpoints_phased'
) %}
-- depends_on: {{ ref('int_touchpoints') }}

with

current_touchpoints as (
    select
        touchpoint_id,
        source,
        stream,
        record_id,
        person_group
    from {{ ref('int_touchpoints_persons') }}
),

{% if previous is not none and not flags.FULL_REFRESH -%}
previous_touchpoints as (
    select
        touchpoint_id,
        person_group
    from {{ previous }}
),

new_records as (
    select distinct
        source,
        stream,
        record_id
    from {{ ref('int_touchpoints') }}
    where _extracted_at > {{ journey_warehouse.incremental_watermark(relation=previous) }}
),

changed as (
    select
        previous_touchpoints.person_group as previous_group,
        current_touchpoints.person_group as current_group
    from current_touchpoints
    full outer join previous_touchpoints
        on current_touchpoints.touchpoint_id = previous_touchpoints.touchpoint_id
    left join new_records
        on {{ same_record('current_touchpoints', 'new_records') }}
    where
        current_touchpoints.touchpoint_id is null
        or previous_touchpoints.touchpoint_id is null
        or current_touchpoints.person_group <> previous_touchpoints.person_group
        or new_records.record_id is not null
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
    select person_group
    from current_touchpoints
    where 1 = 0
),
-- noqa: enable=LT02
{% endif %}

final as (
    select distinct person_group
    from affected
)

select * from final
