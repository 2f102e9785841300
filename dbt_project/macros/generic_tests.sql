{#- Generic data tests written here because dbt hub packages (dbt_utils) are unreachable offline. -#}

{#- No two rows share the values of `columns`. -#}
{% test unique_combination(model, columns) %}
select
    {{ columns | join(', ') }},
    count(*) as rows_sharing_values
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Every row satisfies the SQL condition `expression`. -#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}

{#- The values of `column_name` outside a known set, one row per unknown value with how many
    rows carry it. For enumerations a vendor may extend (docs/contracts.md §1.5): a new value is
    reported, never blocking (severity warn by default), and flows through to the models, which
    map it to `other` where they need a closed set. The known set is `registered`, an
    enumeration declared in the stream registry ('zendesk/tickets/via.channel', config/streams/),
    or `values`, or the column `field` of the relation `to` (a seed, so the list lives where the
    mapping does). -#}
{% test known_values(model, column_name, values=none, to=none, field=none, registered=none) %}
{{ config(severity='warn') }}
{%- if registered is not none -%}
    {%- set values = journey_warehouse.stream_known_values(registered) -%}
{%- endif %}
select
    {{ column_name }} as unknown_value,
    count(*) as n_records
from {{ model }}
where
    {{ column_name }} is not null
    {%- if values is not none %}
    and {{ column_name }} not in ({% for value in values %}'{{ value }}'{{ ", " if not loop.last }}{% endfor %})
    {%- endif %}
    {%- if to is not none %}
    and {{ column_name }} not in (select {{ field }} from {{ to }} where {{ field }} is not null)
    {%- endif %}
group by {{ column_name }}
{% endtest %}

{#- None of `columns` holds a null: one test per model instead of one `not_null` per column (each
    dbt test is a node, a query, an asset check and its events: issue 17). One scan counts the
    nulls of every column; a failing row names the column and how many rows lack it, and the
    test's failure count is the sum of those rows (as many as the per-column tests counted). -#}
{% test not_null_columns(model, columns) %}
{{ config(fail_calc='coalesce(sum(null_rows), 0)') }}
with null_counts as (
    select
        {%- for column in columns %}
        count(*) - count({{ column }}) as null_rows_{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
)

{% for column in columns -%}
select
    '{{ column }}' as column_name,
    null_rows_{{ loop.index }} as null_rows
from null_counts
where null_rows_{{ loop.index }} > 0
{% if not loop.last %}union all
{% endif -%}
{%- endfor %}
{% endtest %}
