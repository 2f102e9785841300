{#- Every source record that its vendor removed and no mart counts any more (contracts §6.1,
    DECISIONS.md "Deleted and merged tickets"), one row per record:
    * support tickets the support tool deleted or merged into another ticket
      (int_support_tickets_unioned.removal_reason), and
    * the satisfaction ratings of those tickets (removed with their ticket).
    int_touchpoints_phased leaves these records' touchpoints out: the incremental
    int_touchpoints still holds the touchpoints a record had before its removal (a removed
    record has no new touchpoint row to replace them), so the removal is applied after it,
    every night. A record the vendor restores (a new version without the removal) simply drops
    out of this list. Published as fct_removed_records. -#}

with

tickets as (
    select * from {{ ref('int_support_tickets_unioned') }}
    where removal_reason is not null
),

ratings as (
    select * from {{ ref('int_satisfaction_ratings_unioned') }}
    where ticket_removal_reason is not null
),

final as (
    select
        source,
        'tickets' as stream,
        ticket_id as record_id,
        removal_reason,
        updated_at as removed_at
    from tickets
    union all
    select
        ratings.source,
        'satisfaction_ratings' as stream,
        ratings.satisfaction_rating_id as record_id,
        tickets.removal_reason,
        tickets.updated_at as removed_at
    from ratings
    inner join tickets
        on
            ratings.source = tickets.source
            and ratings.ticket_id = tickets.ticket_id
)

select * from final
