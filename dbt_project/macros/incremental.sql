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
