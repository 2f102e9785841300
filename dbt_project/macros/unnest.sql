{#- A lateral join that turns a list column into one row per element, with its 1-based
    position: `from t {{ unnest_with_index('t.items', 'item', 'item_index') }}`.
    Empty and null lists yield no rows. -#}
{% macro unnest_with_index(list_expression, item_alias, index_alias) -%}
    {{ return(adapter.dispatch('unnest_with_index', 'journey_warehouse')(list_expression, item_alias, index_alias)) }}
{%- endmacro %}

{% macro duckdb__unnest_with_index(list_expression, item_alias, index_alias) -%}
    cross join unnest({{ list_expression }}) with ordinality as {{ item_alias }}_unnested ({{ item_alias }}, {{ index_alias }})
{%- endmacro %}

{#- Spark: `inline` over the list turned into (item, 1-based position) structs, so both aliases
    exist as named (posexplode's position is 0-based and a lateral view cannot add 1). -#}
{% macro default__unnest_with_index(list_expression, item_alias, index_alias) -%}
    lateral view inline(transform({{ list_expression }}, (list_element, list_position) -> named_struct('item', list_element, 'position', list_position + 1))) {{ item_alias }}_unnested as {{ item_alias }}, {{ index_alias }}
{%- endmacro %}

{#- True when the list `list_expression` holds `value` (false for an empty list, null for a
    null list). -#}
{% macro list_has(list_expression, value) -%}
    {{ return(adapter.dispatch('list_has', 'journey_warehouse')(list_expression, value)) }}
{%- endmacro %}

{% macro duckdb__list_has(list_expression, value) -%}
    list_contains({{ list_expression }}, {{ value }})
{%- endmacro %}

{% macro default__list_has(list_expression, value) -%}
    array_contains({{ list_expression }}, {{ value }})
{%- endmacro %}
