{#- The state of every record, besides its own touchpoints, that decides which group
    (int_touchpoints_persons.person_group) its touchpoints belong to, if any: its person and
    whether it belongs to an erased person (int_record_persons), whether its vendor removed it
    (int_removed_records_unioned). One row per record, about as many as int_record_persons,
    never per touchpoint. int_affected_persons compares it, record by record, with
    int_record_states_kept (the copy the previous run kept). A view: read twice a night. -#}
{{ config(materialized='view') }}

with

record_persons as (
    select * from {{ ref('int_record_persons') }}
),

removed_records as (
    select distinct
        source,
        stream,
        record_id
    from {{ ref('int_removed_records_unioned') }}
),

final as (
    select
        coalesce(record_persons.source, removed_records.source) as source,
        coalesce(record_persons.stream, removed_records.stream) as stream,
        coalesce(record_persons.record_id, removed_records.record_id) as record_id,
        {{ surrogate_key([
            'record_persons.person_id',
            'record_persons.is_suppressed',
            'removed_records.record_id is not null',
        ]) }} as record_state
    from record_persons
    full outer join removed_records
        on {{ same_record('record_persons', 'removed_records') }}
)

select * from final
