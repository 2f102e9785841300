{#- Published unchanged from the identity stitching step (contracts §5.3). -#}

with

identity_edges as (
    select * from {{ source('identity', 'identity_edges') }}
),

final as (
    select * from identity_edges
)

select * from final
