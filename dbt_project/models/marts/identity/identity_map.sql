{#- Published unchanged from the identity stitching step (contracts §5.3). -#}

with

identity_map as (
    select * from {{ source('identity', 'identity_map') }}
),

final as (
    select * from identity_map
)

select * from final
