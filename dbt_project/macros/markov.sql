{#- Gauss-Jordan elimination of the augmented systems of int_channel_removal_effects_solved:
    CTEs ending in `solved (removed_index, i, j, a)`, the systems after eliminating every
    transient state. Reads the CTEs `system` (removed_index, i, j, a: one cell per variant,
    row 1..n and column 1..n + 1) and `state_count` (n). Each step divides the pivot row by the
    pivot and subtracts it from the other rows; windows find the pivot, its row and its column.
    The engine picks the form (adapter.dispatch); both compute every cell with the same
    expressions in the same order, so they agree to the bit. -#}
{% macro markov_elimination() -%}
    {{ return(adapter.dispatch('markov_elimination', 'journey_warehouse')()) }}
{%- endmacro %}

{#- One recursive CTE, one step per state (the model's `with recursive`). -#}
{% macro default__markov_elimination() -%}
elimination (step, removed_index, i, j, a) as (
    select
        0 as step,
        removed_index,
        i,
        j,
        cast(a as double) as a
    from system
    union all
    select
        step + 1 as step,
        removed_index,
        i,
        j,
        case
            when i = step + 1 then a / pivot_value
            else a - pivot_column_value * pivot_row_value / pivot_value
        end as a
    from (
        select
            elimination.step,
            elimination.removed_index,
            elimination.i,
            elimination.j,
            elimination.a,
            max(case when elimination.i = elimination.step + 1 and elimination.j = elimination.step + 1 then elimination.a end)
                over (partition by elimination.removed_index) as pivot_value,
            max(case when elimination.i = elimination.step + 1 then elimination.a end)
                over (partition by elimination.removed_index, elimination.j) as pivot_row_value,
            max(case when elimination.j = elimination.step + 1 then elimination.a end)
                over (partition by elimination.removed_index, elimination.i) as pivot_column_value
        from elimination
        cross join state_count
        where elimination.step < state_count.n
    ) as previous_step
),

solved as (
    select
        elimination.removed_index,
        elimination.i,
        elimination.j,
        elimination.a
    from elimination
    cross join state_count
    where elimination.step = state_count.n
)
{%- endmacro %}

{#- Spark refuses window functions over a recursive reference
    (INVALID_RECURSIVE_REFERENCE.PLACE): the steps are unrolled, one CTE pair per state up to
    var `markov_max_states` (singular test assert_markov_states_within_bound), each reading the
    step before once; a step past the chain's last state (no pivot) changes nothing. Not the
    default: DuckDB plans such a chain of windows in time exponential in its length. -#}
{% macro spark__markov_elimination() -%}
elimination_0 as (
    select
        removed_index,
        i,
        j,
        cast(a as double) as a
    from system
),
{% for step in range(1, var('markov_max_states') + 1) %}
pivot_{{ step }} as (
    select
        removed_index,
        i,
        j,
        a,
        max(case when i = {{ step }} and j = {{ step }} then a end)
            over (partition by removed_index) as pivot_value,
        max(case when i = {{ step }} then a end)
            over (partition by removed_index, j) as pivot_row_value,
        max(case when j = {{ step }} then a end)
            over (partition by removed_index, i) as pivot_column_value
    from elimination_{{ step - 1 }}
),

elimination_{{ step }} as (
    select
        removed_index,
        i,
        j,
        case
            when pivot_value is null then a
            when i = {{ step }} then a / pivot_value
            else a - pivot_column_value * pivot_row_value / pivot_value
        end as a
    from pivot_{{ step }}
),
{% endfor %}
solved as (
    select
        removed_index,
        i,
        j,
        a
    from elimination_{{ var('markov_max_states') }}
)
{%- endmacro %}
