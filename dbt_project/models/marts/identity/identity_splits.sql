{#- Published unchanged from the identity stitching step (contracts §5.3). -#}

with

identity_splits as (
    select * from {{ source('identity', 'identity_splits') }}
),

final as (
    select * from identity_splits
)

select * from final
