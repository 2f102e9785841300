{#- Spark implementations of dbt's own cross-database macros (dbt dispatches `dbt.<name>` to a
    root project's `spark__<name>` first): dbt-spark's versions differ from DuckDB's. -#}

{#- dbt-spark's safe_cast is a plain cast, which raises on a bad value under ANSI mode. -#}
{% macro spark__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{#- dbt-spark's listagg drops the ORDER BY (collect_list); Spark 4's listagg keeps it. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
    {{ exceptions.raise_compiler_error("listagg: limit_num is not supported on Spark") }}
    {%- endif -%}
    listagg({{ measure }}, {{ delimiter_text }}) within group ({{ order_by_clause or 'order by ' ~ measure }})
{%- endmacro %}
