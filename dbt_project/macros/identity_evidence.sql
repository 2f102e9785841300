{#- Evidence rows (contracts §5.2) for the records of one relation: one select per identifier,
    unioned. `source` and `stream` are SQL expressions (a quoted literal such as "'matomo'", or
    a column when the relation holds the records of several sources); `rule` is the rule name.
    The identifiers are the relation's in the var `identity_evidence_identifiers`
    (evidence_identifiers below); rows whose identifier is null or blank are left out. -#}
{% macro identity_evidence_rows(relation, source, stream, rule, record_id, observed_at) -%}
    {%- for kind, column, is_anchor in journey_warehouse.evidence_identifiers(relation) %}
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

{#- The identifiers of the records of `relation` (a CTE of int_identity_evidence) as
    identity_evidence_rows wants them: (identifier_kind, column, is_anchor SQL), from the var
    `identity_evidence_identifiers` (dbt_project.yml). The n-th anchor is the anchor where the
    record holds none of the earlier ones; evidence identifiers are never anchors. -#}
{% macro evidence_identifiers(relation) -%}
    {%- set declared = var('identity_evidence_identifiers') -%}
    {%- if relation not in declared -%}
        {{ exceptions.raise_compiler_error(
            'identity_evidence_identifiers (dbt_project.yml) declares no identifiers for ' ~ relation) }}
    {%- endif -%}
    {%- set identifiers = [] -%}
    {%- set absent = [] -%}
    {%- for kind, column in declared[relation].get('anchors', []) -%}
        {%- do identifiers.append((kind, column, absent | join(' and ') if absent else 'true')) -%}
        {%- do absent.append("nullif(trim(" ~ column ~ "), '') is null") -%}
    {%- endfor -%}
    {%- for kind, column in declared[relation].get('evidence', []) -%}
        {%- do identifiers.append((kind, column, 'false')) -%}
    {%- endfor -%}
    {{ return(identifiers) }}
{%- endmacro %}
