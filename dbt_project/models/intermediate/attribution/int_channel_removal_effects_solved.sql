{#- Markov-chain removal effects per channel, solved in closed form in SQL.

    The transition counts of int_channel_transitions_counted define an absorbing Markov chain:
    transient states `(start)` and the channels, absorbing states `(conversion)` and `(null)`.
    With Q the transient-to-transient and r the transient-to-conversion probabilities, the
    conversion probabilities of all transient states solve (I - Q) p = r (unique: every state
    reaches an absorbing one). Removing a channel sends every transition into it to `(null)`
    (its row and column of Q and its entry of r are zeroed). One system per variant (nothing
    removed, or one channel removed), all solved together by Gauss-Jordan elimination (macro
    markov_elimination: a recursive CTE; on Spark unrolled for up to var `markov_max_states`
    states), one step per transient state, each step dividing the pivot row by the pivot and
    subtracting it from the other rows (no pivoting needed: I - Q is a diagonally dominant
    M-matrix). The removal effect is the relative drop of the conversion probability from
    `(start)`, clipped at 0; shares are the effects normalised to sum to 1. Plain SQL, so it
    runs on every engine, Spark included, where dbt Python models cannot run. -#}

with recursive

transitions as (
    select
        from_state,
        to_state,
        cast(transitions as double) as transitions
    from {{ ref('int_channel_transitions_counted') }}
),

channels as (
    select distinct to_state as channel
    from transitions
    where to_state not in ('(start)', '(conversion)', '(null)')
    union
    select distinct from_state as channel
    from transitions
    where from_state not in ('(start)', '(conversion)', '(null)')
),

{#- transient states numbered 1..n: (start) first, then the channels in name order -#}
states as (
    select
        '(start)' as state,
        1 as state_index
    union all
    select
        channel as state,
        cast(row_number() over (order by channel) + 1 as integer) as state_index
    from channels
),

state_count as (
    select cast(count(*) as integer) as n from states
),

{#- the system's variants: nothing removed (removed_index 0) or one channel removed -#}
variants as (
    select 0 as removed_index
    union all
    select state_index as removed_index
    from states
    where state_index > 1
),

probabilities as (
    select
        from_states.state_index as from_index,
        to_states.state_index as to_index,
        transitions.to_state,
        transitions.transitions / sum(transitions.transitions) over (partition by transitions.from_state)
            as probability
    from transitions
    inner join states as from_states
        on transitions.from_state = from_states.state
    left join states as to_states
        on transitions.to_state = to_states.state
),

{#- the augmented matrix [I - Q | r] of each variant: column n + 1 holds r -#}
cells as (
    select
        variants.removed_index,
        row_states.state_index as i,
        column_states.state_index as j
    from variants
    cross join states as row_states
    cross join states as column_states
    union all
    select
        variants.removed_index,
        row_states.state_index as i,
        state_count.n + 1 as j
    from variants
    cross join states as row_states
    cross join state_count
),

system as (
    select
        cells.removed_index,
        cells.i,
        cells.j,
        case
            when cells.j = state_count.n + 1
                then case
                    when cells.i = cells.removed_index then 0.0
                    else coalesce(sum(case when probabilities.to_state = '(conversion)' then probabilities.probability end), 0.0)
                end
            else
                case when cells.i = cells.j then 1.0 else 0.0 end
                - case
                    when cells.i = cells.removed_index or cells.j = cells.removed_index then 0.0
                    else coalesce(sum(case when probabilities.to_index = cells.j then probabilities.probability end), 0.0)
                end
        end as a
    from cells
    cross join state_count
    left join probabilities
        on cells.i = probabilities.from_index
    group by cells.removed_index, cells.i, cells.j, state_count.n
),

{{ journey_warehouse.markov_elimination() }},

{#- p(start) of each variant: row 1 of the solved column -#}
start_probabilities as (
    select
        solved.removed_index,
        solved.a as conversion_probability
    from solved
    cross join state_count
    where
        solved.i = 1
        and solved.j = state_count.n + 1
),

base_probability as (
    select conversion_probability
    from start_probabilities
    where removed_index = 0
),

effects as (
    select
        states.state as channel,
        base.conversion_probability,
        removed.conversion_probability as conversion_probability_without_channel,
        case
            when base.conversion_probability > 0
                then greatest(
                    (base.conversion_probability - removed.conversion_probability) / base.conversion_probability,
                    0.0
                )
            else 0.0
        end as removal_effect
    from states
    inner join start_probabilities as removed
        on states.state_index = removed.removed_index
    cross join base_probability as base
),

transitions_into as (
    select
        to_state as channel,
        cast(sum(transitions) as {{ dbt.type_bigint() }}) as transitions_into_channel
    from transitions
    group by to_state
),

final as (
    select
        effects.channel,
        effects.conversion_probability,
        effects.conversion_probability_without_channel,
        effects.removal_effect,
        case
            when sum(effects.removal_effect) over () > 0
                then effects.removal_effect / sum(effects.removal_effect) over ()
            else 0.0
        end as removal_effect_share,
        transitions_into.transitions_into_channel
    from effects
    left join transitions_into
        on effects.channel = transitions_into.channel
)

select * from final
