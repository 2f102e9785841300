{#-
  Parse a JSON text column ONCE into a typed struct; read fields as `parsed.field`.

  `structure` is a dict of field name -> type, where a type is one of
  'string', 'bigint', 'double', 'boolean', a nested dict (object) or a one-element list
  holding a type (array). Ids are read as 'string' (vendors send ints or strings), amounts
  as 'string' and cast in SQL (Shopify sends decimal strings), timestamps as the vendor
  sends them and converted with the timestamp macros.
  Fields absent from a record, or of another JSON type than declared, come out null.
-#}
{% macro parse_json(column, structure) -%}
    {{ return(adapter.dispatch('parse_json', 'journey_warehouse')(column, structure)) }}
{%- endmacro %}

{% macro duckdb__parse_json(column, structure) -%}
    json_transform({{ column }}, '{{ journey_warehouse.json_structure_duckdb(structure) }}')
{%- endmacro %}

{#- Spark SQL: from_json with a DDL schema. Trino would use cast(json_parse(x) as row(...)). -#}
{% macro default__parse_json(column, structure) -%}
    from_json({{ column }}, '{{ journey_warehouse.json_structure_ddl(structure) }}')
{%- endmacro %}

{% macro json_structure_duckdb(structure) -%}
    {%- if structure is mapping -%}
        {{ "{" }}{%- for name, kind in structure.items() -%}
            "{{ name }}":{{ journey_warehouse.json_structure_duckdb(kind) }}{{ "," if not loop.last }}
        {%- endfor -%}{{ "}" }}
    {%- elif structure is string -%}
        "{{ {'string': 'VARCHAR', 'bigint': 'BIGINT', 'double': 'DOUBLE', 'boolean': 'BOOLEAN'}[structure] }}"
    {%- else -%}
        [{{ journey_warehouse.json_structure_duckdb(structure[0]) }}]
    {%- endif -%}
{%- endmacro %}

{% macro json_structure_ddl(structure) -%}
    {%- if structure is mapping -%}
        struct<{%- for name, kind in structure.items() -%}
            `{{ name }}`: {{ journey_warehouse.json_structure_ddl(kind) }}{{ ", " if not loop.last }}
        {%- endfor -%}>
    {%- elif structure is string -%}
        {{ structure }}
    {%- else -%}
        array<{{ journey_warehouse.json_structure_ddl(structure[0]) }}>
    {%- endif -%}
{%- endmacro %}

{#- A number read from a JSON field parsed as text ('string' in the structure): vendors send
    numbers as JSON numbers or as numeric strings (Matomo, depending on version and field), and
    a text read covers both on every engine. Blank text is null; so is text that is not a
    number (the landing layer quarantines those, docs/contracts.md §1.1). With `integral`, a
    bigint. -#}
{% macro json_number(expression, integral=false) -%}
    {%- set number = dbt.safe_cast("nullif(trim(" ~ expression ~ "), '')", 'double') -%}
    {%- if integral -%}
        cast({{ number }} as {{ dbt.type_bigint() }})
    {%- else -%}
        {{ number }}
    {%- endif -%}
{%- endmacro %}
