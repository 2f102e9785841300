{#- Published unchanged from the identity stitching step (contracts §5.3). -#}

with

identity_record_persons as (
    select * from {{ source('identity', 'identity_record_persons') }}
),

final as (
    select * from identity_record_persons
)

select * from final
