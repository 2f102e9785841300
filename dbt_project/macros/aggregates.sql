{#- Small aggregates for the KPI marts, portable across engines. -#}

{#- numerator / denominator as a double, null when the denominator is 0 or null. -#}
{% macro safe_ratio(numerator, denominator) -%}
    (cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0))
{%- endmacro %}

{#- numerator / denominator as a double (DuckDB's quotient of two decimals). Use it wherever a
    quotient of decimals or of a decimal literal matters: Spark keeps the quotient a decimal
    rounded to as few as 6 places. -#}
{% macro divide(numerator, denominator) -%}
    (cast({{ numerator }} as double) / cast({{ denominator }} as double))
{%- endmacro %}

{#- The median of an expression, interpolated between the two middle values (exact on DuckDB,
    Spark and the standard `percentile_cont`; Trino approximates it). -#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'journey_warehouse')(expression)) }}
{%- endmacro %}

{% macro duckdb__median(expression) -%}
    quantile_cont({{ expression }}, 0.5)
{%- endmacro %}

{% macro trino__median(expression) -%}
    approx_percentile({{ expression }}, 0.5)
{%- endmacro %}

{% macro spark__median(expression) -%}
    median({{ expression }})
{%- endmacro %}

{% macro default__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{#- The first day of the month of a timestamp or date, as a date. -#}
{% macro month_start(expression) -%}
    cast({{ dbt.date_trunc('month', expression) }} as date)
{%- endmacro %}
