{#- One row per CSAT score of tickets raised by customers (good, bad, unrated): how often the
    customer bought again within `repurchase_window_days` after the ticket. Only tickets whose
    window has fully passed by the data's latest touchpoint count in the rate. -#}

with

tickets as (
    select * from {{ ref('fct_support_tickets') }}
    where is_customer_at_ticket
),

final as (
    select
        coalesce(csat_score, 'unrated') as csat_score,
        count(*) as tickets,
        count(distinct person_id) as customers,
        count(case when is_window_complete then 1 end) as tickets_with_complete_window,
        count(case when is_window_complete and has_repurchase_in_window then 1 end) as tickets_followed_by_repurchase,
        {{ safe_ratio(
            'count(case when is_window_complete and has_repurchase_in_window then 1 end)',
            'count(case when is_window_complete then 1 end)') }} as repurchase_rate
    from tickets
    group by coalesce(csat_score, 'unrated')
)

select * from final
