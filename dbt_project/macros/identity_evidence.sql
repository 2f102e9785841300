{#- Evidence rows (contracts §5.2) for the records of one relation: one select per identifier,
    unioned. `identifiers` is a list of (identifier_kind, column, is_anchor SQL expression);
    rows whose identifier is null or blank are left out. -#}
{% macro identity_evidence_rows(relation, source_name, stream, rule, record_id, observed_at, identifiers) -%}
    {%- for kind, column, is_anchor in identifiers %}
    select
        '{{ source_name }}' as source,
        '{{ stream }}' as stream,
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
