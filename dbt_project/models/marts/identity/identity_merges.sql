{#- Published unchanged from the identity stitching step (contracts §5.3). -#}

with

identity_merges as (
    select * from {{ source('identity', 'identity_merges') }}
),

final as (
    select * from identity_merges
)

select * from final
