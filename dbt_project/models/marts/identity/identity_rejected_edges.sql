{#- Published unchanged from the identity stitching step (contracts §5.3). -#}

with

identity_rejected_edges as (
    select * from {{ source('identity', 'identity_rejected_edges') }}
),

final as (
    select * from identity_rejected_edges
)

select * from final
