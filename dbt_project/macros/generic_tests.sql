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
