{#- Small aggregates for the KPI marts, portable across engines. -#}

{#- numerator / denominator as a double, null when the denominator is 0 or null. -#}
{% macro safe_ratio(numerator, denominator) -%}
    (cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0))
{%- endmacro %}

{#- The median of an expression (exact on DuckDB; Spark and Trino approximate it). -#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'journey_warehouse')(expression)) }}
{%- endmacro %}

{% macro duckdb__median(expression) -%}
    quantile_cont({{ expression }}, 0.5)
{%- endmacro %}

{% macro trino__median(expression) -%}
    approx_percentile({{ expression }}, 0.5)
{%- endmacro %}

{% macro default__median(expression) -%}
    percentile_approx({{ expression }}, 0.5)
{%- endmacro %}

{#- The first day of the month of a timestamp or date, as a date. -#}
{% macro month_start(expression) -%}
    cast({{ dbt.date_trunc('month', expression) }} as date)
{%- endmacro %}
