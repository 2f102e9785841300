{#- The transitions of the channel paths (int_channel_paths_built) as an absorbing Markov chain:
    every path runs from `(start)` through the entry channels of its sessions to `(conversion)`
    or `(null)`. One row per (from_state, to_state) with the number of paths making that step
    (a path passing a step twice counts twice). Consecutive sessions in one channel give a
    self-transition, which does not change absorption probabilities. -#}

with

steps as (
    select * from {{ ref('int_channel_paths_built') }}
),

transitions as (
    select
        path_id,
        coalesce(
            lag(channel) over (partition by path_id order by step_number),
            '(start)'
        ) as from_state,
        channel as to_state
    from steps
    union all
    select
        path_id,
        channel as from_state,
        case when path_outcome = 'conversion' then '(conversion)' else '(null)' end as to_state
    from steps
    where step_number = path_steps
),

final as (
    select
        from_state,
        to_state,
        count(*) as transitions,
        count(distinct path_id) as paths
    from transitions
    group by from_state, to_state
)

select * from final
