{#- Incremental watermark: records extracted after (the newest `_extracted_at` already in the
    target) minus var `incremental_lookback_hours` are reprocessed. Use inside is_incremental(). -#}
{% macro incremental_watermark(column='_extracted_at') -%}
    (
        select {{ dbt.dateadd('hour', -1 * var('incremental_lookback_hours'),
                              'coalesce(max(' ~ column ~ "), cast('1900-01-01' as " ~ dbt.type_timestamp() ~ '))') }}
        from {{ this }}
    )
{%- endmacro %}

{#- The last non-null value of `expression` in the window frame (`over_clause` without `over`). -#}
{% macro last_non_null(expression, over_clause) -%}
    {{ return(adapter.dispatch('last_non_null', 'journey_warehouse')(expression, over_clause)) }}
{%- endmacro %}

{% macro default__last_non_null(expression, over_clause) -%}
    last_value({{ expression }}) ignore nulls over ({{ over_clause }})
{%- endmacro %}

{% macro duckdb__last_non_null(expression, over_clause) -%}
    last_value({{ expression }} ignore nulls) over ({{ over_clause }})
{%- endmacro %}

{#- Inside is_incremental(): every row of `relation` (a CTE name) whose group — the values of
    `keys` — has at least one row extracted since the watermark. Incremental models recompute
    whole groups (a visitor's sessions, a record's touchpoints) and replace them with
    delete+insert on the same keys. -#}
{% macro rows_of_changed_groups(relation, keys) -%}
    select {{ relation }}.*
    from {{ relation }}
    inner join (
        select distinct {{ keys | join(', ') }}
        from {{ relation }}
        where _extracted_at > {{ journey_warehouse.incremental_watermark() }}
    ) as changed_groups
        on {% for key in keys -%}
            {{ relation }}.{{ key }} = changed_groups.{{ key }}{{ ' and ' if not loop.last }}
        {%- endfor %}
{%- endmacro %}

{#- A table of the identity step published unchanged (contracts §5.3). -#}
{% macro published_identity_table(table) -%}
with

{{ table }} as (
    select * from {{ source('identity', table) }}
),

final as (
    select * from {{ table }}
)

select * from final
{%- endmacro %}
