{#- Evidence rows (contracts §5.2) for the records of one relation: one select per identifier,
    unioned. `source` and `stream` are SQL expressions (a quoted literal such as "'matomo'", or
    a column when the relation holds the records of several sources); `rule` is the rule name.
    `identifiers` is a list of (identifier_kind, column, is_anchor SQL expression); rows whose
    identifier is null or blank are left out. -#}
{% macro identity_evidence_rows(relation, source, stream, rule, record_id, observed_at, identifiers) -%}
    {%- for kind, column, is_anchor in identifiers %}
    select
        cast({{ source }} as {{ dbt.type_string() }}) as source,
        cast({{ stream }} as {{ dbt.type_string() }}) as stream,
        {{ record_id }} as record_id,
        {{ observed_at }} as observed_at,
        '{{ rule }}' as rule,
        '{{ kind }}' as identifier_kind,
        cast({{ column }} as {{ dbt.type_string() }}) as identifier_value,
        {{ is_anchor }} as is_anchor
    from {{ relation }}
    where nullif(trim(cast({{ column }} as {{ dbt.type_string() }})), '') is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
