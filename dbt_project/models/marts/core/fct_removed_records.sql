{#- The records the vendors removed, so the deletions are counted where analysts look
    (int_removed_records_unioned): support tickets deleted or merged into another ticket and
    their ratings. The run report counts them per source, stream and reason. -#}

with

removed as (
    select * from {{ ref('int_removed_records_unioned') }}
),

final as (
    select
        source,
        stream,
        record_id,
        removal_reason,
        removed_at
    from removed
)

select * from final
