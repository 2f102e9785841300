{#- Spark: seed rows inserted as SQL literals. dbt-spark's own version binds values as text
    without escaping (a quote in a seed breaks the insert) and writes an empty CSV cell as the
    string 'None'; here an empty cell is null, as on DuckDB. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set types = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- do types.append(column_override.get(col_name, adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for value in row -%}
                    cast({{ journey_warehouse.spark_seed_literal(value) }} as {{ types[loop.index0] }})
                    {%- if not loop.last %}, {% endif -%}
                {%- endfor -%})
                {%- if not loop.last %},{% endif %}
            {% endfor -%}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.index0 == 0 %}{% do statements.append(sql) %}{% endif -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}

{% macro spark_seed_literal(value) -%}
    {%- if value is none -%}null
    {%- elif value is sameas true -%}true
    {%- elif value is sameas false -%}false
    {%- elif value is number -%}{{ value }}
    {%- else -%}'{{ (value | string).replace('\\', '\\\\').replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
