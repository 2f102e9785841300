{#- One row per order × attribution touchpoint × attribution model: how much of each
    non-cancelled order's credit each web session before it receives.

    Touchpoints: the person's sessions (entry channel) that started within
    `attribution_lookback_days` before the order (int_channel_paths_built, outcome conversion),
    numbered 1..n by start time. An order without such a session gets one touchpoint, channel
    `Unattributed`, and every model gives it credit 1. Models (var `attribution_models`):
      first_touch      1 to the first touchpoint;
      last_touch       1 to the last;
      last_non_direct  1 to the last touchpoint whose channel is not Direct (the last if all are);
      linear           1/n each;
      time_decay       weight 0.5^(age / half-life), age = order time - session start,
                       half-life `attribution_half_life_days`; weights normalised per order;
      position_based   n = 1: 1; n = 2: split first : last weight; n > 2: first and last get
                       `attribution_position_first_weight` / `..._last_weight` (0.4 / 0.4), the
                       middle touchpoints share the rest equally;
      markov           data-driven: the order's credit is split over the distinct channels of
                       its path in proportion to their Markov removal effects
                       (int_channel_removal_effects_solved), each channel's part equally over its
                       touchpoints; linear when no channel of the path has a removal effect.
    Credits of one order and model sum to 1 (singular test assert_attribution_credits_sum_to_one).

    Incremental by person (affected_persons_config on person_id, driver int_affected_persons),
    except Markov. Closed: an order's credits under every model but markov depend only on the
    order (fct_orders: time, total, currency, person) and on its person's sessions
    (int_channel_paths_built), all of which change only when a touchpoint of that person changes
    (an order or web record landed again, a record moving person, an erasure), which is what
    int_affected_persons lists; such a person's orders are recomputed whole, so no lookback by
    time is needed (a late session of any age recomputes its person). Rebuilt every night
    (`always`): the markov rows, whose removal effects are computed from every path of every
    person (int_channel_removal_effects_solved, a global figure: one new path changes every
    order's Markov credit), and the orders without a person (their group is not a person id). -#}

{%- set half_life_seconds = var('attribution_half_life_days') * 86400 -%}
{%- set first_weight = var('attribution_position_first_weight') -%}
{%- set last_weight = var('attribution_position_last_weight') -%}
{#- Weights stay SQL decimal literals, so 1 - 0.4 - 0.4 is exactly 0.2; quotients are doubles
    (`divide`), as DuckDB computes them (Spark would round a decimal quotient). -#}
{%- set credit_rules = {
    'first_touch': 'case when step_number = 1 then 1.0 else 0.0 end',
    'last_touch': 'case when step_number = path_steps then 1.0 else 0.0 end',
    'last_non_direct': 'case when step_number = last_non_direct_step then 1.0 else 0.0 end',
    'linear': divide('1.0', 'path_steps'),
    'time_decay': divide('decay_weight', 'decay_total'),
    'position_based': 'case
            when path_steps = 1 then 1.0
            when path_steps = 2 and step_number = 1 then ' ~ divide(first_weight, '(' ~ first_weight ~ ' + ' ~ last_weight ~ ')') ~ '
            when path_steps = 2 then ' ~ divide(last_weight, '(' ~ first_weight ~ ' + ' ~ last_weight ~ ')') ~ '
            when step_number = 1 then ' ~ first_weight ~ '
            when step_number = path_steps then ' ~ last_weight ~ '
            else ' ~ divide('(1.0 - ' ~ first_weight ~ ' - ' ~ last_weight ~ ')', '(path_steps - 2)') ~ '
        end',
    'markov': 'case
            when path_removal_effect > 0 then ' ~ divide(divide('removal_effect', 'path_removal_effect'), 'channel_steps') ~ '
            else ' ~ divide('1.0', 'path_steps') ~ '
        end',
} -%}

{%- set always = "person_id is null or attribution_model = 'markov'" %}
{{ config(**affected_persons_config('person_id', always=always)) }}
-- depends_on: {{ ref('int_affected_persons') }}

with

every_order as (
    select * from {{ ref('fct_orders') }}
    where not is_cancelled
),

{#- Markov credits need every order; the other models only the affected persons' orders. -#}
orders as (
    {% if is_incremental() and 'markov' not in var('attribution_models') -%}
    {{ rows_of_affected_persons('every_order', 'person_id', 'person_id is null') }}
    {%- else -%}
        select * from every_order
    {%- endif %}
),

steps as (
    select * from {{ ref('int_channel_paths_built') }}
    where path_outcome = 'conversion'
),

{#- Weights are summed as decimals: a sum of doubles depends on the order the engine adds
    them in (which varies between runs with parallelism), a decimal sum does not — so a re-run
    gives bit-identical credits. -#}
removal_effects as (
    select
        channel,
        cast(removal_effect as decimal(38, 18)) as removal_effect
    from {{ ref('int_channel_removal_effects_solved') }}
),

order_touchpoints as (
    select
        orders.order_id,
        orders.person_id,
        orders.created_at as order_created_at,
        orders.total_price,
        orders.currency,
        steps.session_id,
        coalesce(steps.step_number, 1) as step_number,
        coalesce(steps.path_steps, 1) as path_steps,
        steps.started_at as session_started_at,
        coalesce(steps.channel, 'Unattributed') as channel,
        steps.traffic_source,
        steps.traffic_medium,
        steps.campaign,
        {{ seconds_between('steps.started_at', 'orders.created_at') }} as seconds_before_order
    from orders
    left join steps
        on orders.order_id = steps.order_id
),

weighted as (
    select
        order_touchpoints.*,
        coalesce(
            max(case when order_touchpoints.channel <> 'Direct' then order_touchpoints.step_number end)
                over (partition by order_touchpoints.order_id),
            order_touchpoints.path_steps
        ) as last_non_direct_step,
        cast(
            coalesce(power(0.5, order_touchpoints.seconds_before_order / {{ half_life_seconds }}), 1.0)
            as decimal(38, 18)
        ) as decay_weight,
        count(*) over (partition by order_touchpoints.order_id, order_touchpoints.channel) as channel_steps,
        coalesce(removal_effects.removal_effect, 0) as removal_effect
    from order_touchpoints
    left join removal_effects
        on order_touchpoints.channel = removal_effects.channel
),

path_removal_effects as (
    select
        order_id,
        sum(removal_effect) as path_removal_effect
    from (select distinct
        order_id,
        channel,
        removal_effect
    from weighted) as path_channels
    group by order_id
),

prepared as (
    select
        weighted.*,
        sum(weighted.decay_weight) over (partition by weighted.order_id) as decay_total,
        path_removal_effects.path_removal_effect
    from weighted
    inner join path_removal_effects
        on weighted.order_id = path_removal_effects.order_id
),

credited as (
    {%- for attribution_model in var('attribution_models') %}
        {%- if attribution_model not in credit_rules %}
    {{ exceptions.raise_compiler_error(
        "var attribution_models names '" ~ attribution_model ~ "'; known models: "
        ~ (credit_rules.keys() | list | join(', ')) ~ ". Fix the var in dbt_project.yml or --vars.") }}
    {%- endif %}
        select
            '{{ attribution_model }}' as attribution_model,
            cast({{ credit_rules[attribution_model] }} as double) as credit,
            prepared.*
        from prepared
        {% if is_incremental() and attribution_model != 'markov' -%}
        where {{ affected_person_condition('prepared.person_id') }} or prepared.person_id is null
        {% endif -%}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

{#- Revenue in money (DECIMAL(18, money_scale)) that still sums to the order's total exactly:
    each touchpoint gets its share rounded down to the minor unit, and the minor units left over
    go one each to the touchpoints with the largest remainders (largest-remainder rounding). -#}
{%- set minor_units = 10 ** var('money_scale') %}
shared_revenue as (
    select
        credited.*,
        floor(credit * total_price * {{ minor_units }}) as revenue_minor_units,
        credit * total_price * {{ minor_units }} - floor(credit * total_price * {{ minor_units }})
            as revenue_remainder
    from credited
),

rounded_revenue as (
    select
        shared_revenue.*,
        cast(round(total_price * {{ minor_units }}) as {{ dbt.type_bigint() }})
        - cast(sum(revenue_minor_units) over (partition by order_id, attribution_model) as {{ dbt.type_bigint() }})
            as minor_units_left,
        row_number() over (
            partition by order_id, attribution_model
            order by revenue_remainder desc, step_number asc, session_id asc
        ) as remainder_rank
    from shared_revenue
),

final as (
    select
        {{ surrogate_key(['order_id', 'attribution_model', 'session_id']) }} as attribution_id,
        order_id,
        person_id,
        attribution_model,
        session_id,
        cast(step_number as integer) as step_number,
        cast(path_steps as integer) as path_steps,
        session_started_at,
        channel,
        traffic_source,
        traffic_medium,
        campaign,
        order_created_at,
        {{ local_date('order_created_at') }} as order_created_local_date,
        seconds_before_order / 86400.0 as days_before_order,
        credit,
        {{ money('(revenue_minor_units + case when remainder_rank <= minor_units_left then 1 else 0 end) / ' ~ minor_units ~ '.0') }}
            as attributed_revenue,
        currency{{ affected_person_bucket_column('person_id', always) }}  -- noqa: LT02
    from rounded_revenue
)

select * from final
