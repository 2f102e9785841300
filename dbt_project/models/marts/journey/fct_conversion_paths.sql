{#- One row per path outcome (conversion / non_conversion) × channel path: the sequences of web
    session entry channels that lead to an order or to no order (int_channel_paths_built: the
    sessions within `attribution_lookback_days` before an order, or a person's sessions since
    their last order), written `Organic Search > Email > Direct` with consecutive sessions in one
    channel shown once. Ranked by the number of paths within each outcome. -#}

with

steps as (
    select * from {{ ref('int_channel_paths_built') }}
    where not is_channel_repeat
),

orders as (
    select
        order_id,
        total_price,
        currency
    from {{ ref('fct_orders') }}
),

paths as (
    select
        steps.path_id,
        steps.path_outcome,
        steps.person_id,
        steps.order_id,
        {{ dbt.listagg('steps.channel', "' > '", 'order by steps.step_number') }} as channel_path,
        count(*) as channels_in_path
    from steps
    group by steps.path_id, steps.path_outcome, steps.person_id, steps.order_id
),

aggregated as (
    select
        paths.path_outcome,
        paths.channel_path,
        min(paths.channels_in_path) as channels_in_path,
        count(*) as paths,
        count(distinct paths.person_id) as persons,
        sum(orders.total_price) as revenue,
        min(orders.currency) as currency
    from paths
    left join orders
        on paths.order_id = orders.order_id
    group by paths.path_outcome, paths.channel_path
),

final as (
    select
        path_outcome,
        channel_path,
        cast(channels_in_path as integer) as channels_in_path,
        paths,
        persons,
        {{ money('revenue') }} as revenue,
        currency,
        {{ safe_ratio('paths', 'sum(paths) over (partition by path_outcome)') }} as share_of_outcome_paths,
        {{ safe_ratio(
            "sum(case when path_outcome = 'conversion' then paths else 0 end) over (partition by channel_path)",
            'sum(paths) over (partition by channel_path)') }} as path_conversion_rate,
        cast(row_number() over (partition by path_outcome order by paths desc, channel_path asc) as integer) as path_rank
    from aggregated
)

select * from final
