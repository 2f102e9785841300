{#- int_record_states as the person-grain incremental models last saw it: a copy rebuilt in
    every run after int_affected_persons (depends_on below), which reads the copy the previous
    run kept before this run replaces it. -#}
-- depends_on: {{ ref('int_affected_persons') }}

with

record_states as (
    select * from {{ ref('int_record_states') }}
),

final as (
    select
        source,
        stream,
        record_id,
        record_state
    from record_states
)

select * from final
