{#- Records the extraction layer refused, so their counts and reasons are queryable. -#}
{%- set quarantined = source('quarantine', 'records') -%}

with

quarantined_records as (
    {% if quarantine_has_files() %}
        select
            _source,
            _stream,
            _run_id,
            {{ tz_to_utc_timestamp('_extracted_at') }} as _extracted_at,
            _record_hash,
            record,
            reason
        from {{ quarantined }}
    {% else %}
        select
            cast(null as {{ dbt.type_string() }}) as _source,
            cast(null as {{ dbt.type_string() }}) as _stream,
            cast(null as {{ dbt.type_string() }}) as _run_id,
            cast(null as {{ dbt.type_timestamp() }}) as _extracted_at,
            cast(null as {{ dbt.type_string() }}) as _record_hash,
            cast(null as {{ dbt.type_string() }}) as record,
            cast(null as {{ dbt.type_string() }}) as reason
        where 1 = 0
    {% endif %}
),

final as (
    select
        {{ surrogate_key(['_source', '_stream', '_run_id', '_record_hash', 'reason']) }} as quarantined_record_id,
        _source as source,
        _stream as stream,
        _run_id,
        _extracted_at,
        _record_hash,
        record,
        reason as quarantine_reason
    from quarantined_records
)

select * from final
