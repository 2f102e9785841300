{#- Every touchpoint kept in the journey, with its person: the person of the touchpoint's
    person record (int_record_persons); records of erased persons (and touchpoints whose
    person record is one) and records their vendor removed (int_removed_records_unioned:
    deleted or merged tickets and their ratings) are left out.

    `person_group` is the group the person-grain incremental models replace (int_affected_persons):
    the person, or for a touchpoint without a person its own record (`record ` and the record's
    key), whose row depends on nothing else. A view: int_affected_persons compares all of it
    with what int_touchpoints_phased holds, and int_touchpoints_phased reads the affected
    groups' rows of it. -#}
{{ config(materialized='view') }}

with

touchpoints as (
    select * from {{ ref('int_touchpoints') }}
),

record_persons as (
    select * from {{ ref('int_record_persons') }}
),

removed_records as (
    select
        source,
        stream,
        record_id
    from {{ ref('int_removed_records_unioned') }}
),

with_person as (
    select
        touchpoints.*,
        record_persons.person_id
    from touchpoints
    left join record_persons
        on {{ same_record('touchpoints', 'record_persons', 'person_record_') }}
    left join record_persons as own_records
        on {{ same_record('touchpoints', 'own_records') }}
    left join removed_records
        on {{ same_record('touchpoints', 'removed_records') }}
    where
        not coalesce(own_records.is_suppressed, false)
        and not coalesce(record_persons.is_suppressed, false)
        and removed_records.record_id is null
),

final as (
    select
        *,
        coalesce(
            person_id,
            {{ dbt.concat(["'record '", surrogate_key(['source', 'stream', 'record_id'])]) }}
        ) as person_group
    from with_person
)

select * from final
