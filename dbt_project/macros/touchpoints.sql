{#- The columns every per-source touchpoint model returns, in this order (int_touchpoints
    unions them by position). `sub_key` tells apart the touchpoints of one record. -#}
{% macro touchpoint_columns(source_name, stream, record_id, touchpoint_type, sub_key, occurred_at,
                            channel, traffic_source='null', traffic_medium='null', campaign='null',
                            touchpoint_value='null', touchpoint_score='null',
                            person_identifier_kind='null', person_identifier_value='null') -%}
        {{ journey_warehouse.surrogate_key(["'" ~ source_name ~ "'", "'" ~ stream ~ "'", record_id, touchpoint_type, sub_key]) }} as touchpoint_id,
        cast('{{ source_name }}' as {{ dbt.type_string() }}) as source,
        cast('{{ stream }}' as {{ dbt.type_string() }}) as stream,
        cast({{ record_id }} as {{ dbt.type_string() }}) as record_id,
        cast({{ touchpoint_type }} as {{ dbt.type_string() }}) as touchpoint_type,
        cast({{ occurred_at }} as {{ dbt.type_timestamp() }}) as occurred_at,
        cast({{ channel }} as {{ dbt.type_string() }}) as channel,
        cast({{ traffic_source }} as {{ dbt.type_string() }}) as traffic_source,
        cast({{ traffic_medium }} as {{ dbt.type_string() }}) as traffic_medium,
        cast({{ campaign }} as {{ dbt.type_string() }}) as campaign,
        cast({{ touchpoint_value }} as decimal(18, 2)) as touchpoint_value,
        cast({{ touchpoint_score }} as integer) as touchpoint_score,
        cast({{ person_identifier_kind }} as {{ dbt.type_string() }}) as person_identifier_kind,
        cast({{ person_identifier_value }} as {{ dbt.type_string() }}) as person_identifier_value,
        _extracted_at
{%- endmacro %}
