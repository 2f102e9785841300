{#- Every touchpoint kept in the journey, with its person: the person of the touchpoint's
    person record (int_record_persons); records of erased persons (and touchpoints whose
    person record is one) and records their vendor removed (int_removed_records_unioned:
    deleted or merged tickets and their ratings) are left out.

    `person_group` is the group the person-grain incremental models replace (int_affected_persons):
    the person, or for a touchpoint without a person its own record (`record ` and the record's
    key), whose row depends on nothing else. A view: int_touchpoints_phased reads the affected
    groups' rows of it. The body is macro touchpoints_with_persons, which int_affected_persons
    applies to its candidate records' touchpoints only. -#}
{{ config(materialized='view') }}

with

touchpoints as (
    select * from {{ ref('int_touchpoints') }}
),

final as (
    {{ touchpoints_with_persons('touchpoints') }}
)

select * from final
