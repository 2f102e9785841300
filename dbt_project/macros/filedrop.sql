{#- Staging for a file-drop stream (contracts §4): every value arrives as text; the latest
    version per record_id is parsed once (the fields config/streams/filedrop.yml declares) and
    each column typed.
    `columns` is a list of (field, type[, output name]) with type one of
    'string', 'lower', 'integer', 'decimal', 'boolean', 'timestamp', 'date'. -#}
{% macro filedrop_staging(stream, key_name, columns) -%}

with

parsed as (
    {{ journey_warehouse.parsed_landed_records('filedrop', stream, journey_warehouse.stream_structure('filedrop', stream), 'dropped') }}
),

final as (
    select
        record_id as {{ key_name }},
        {%- for column in columns %}
        {%- set field = 'dropped.' ~ column[0] %}
        {%- set kind = column[1] %}
        {%- set name = column[2] if column | length > 2 else column[0] %}
        {%- if name != key_name %}
        {% if kind == 'timestamp' -%}
            {{ journey_warehouse.iso_to_utc_timestamp(field) }}
        {%- elif kind == 'date' -%}
            {{ dbt.safe_cast('trim(' ~ field ~ ')', 'date') }}
        {%- elif kind == 'integer' -%}
            {{ dbt.safe_cast('trim(' ~ field ~ ')', dbt.type_bigint()) }}
        {%- elif kind == 'decimal' -%}
            {{ dbt.safe_cast('trim(' ~ field ~ ')', 'decimal(18, 2)') }}
        {%- elif kind == 'boolean' -%}
            (lower(trim({{ field }})) in ('true', 't', '1', 'yes', 'y'))
        {%- elif kind == 'lower' -%}
            lower(nullif(trim({{ field }}), ''))
        {%- else -%}
            nullif({{ field }}, '')
        {%- endif %} as {{ name }},
        {%- endif %}
        {%- endfor %}
        record_updated_at,
        _extracted_at,
        _run_id
    from parsed
)

select * from final
{%- endmacro %}
