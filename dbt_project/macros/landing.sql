{#- Landed records of a stream (contracts §3), lineage columns converted to UTC timestamps.
    With `latest` (the default) only the latest version of every record: per record_id the
    greatest record_updated_at, then _extracted_at, then _record_hash. Without it every landed
    version (event streams, deduplicated later at event grain).
    Use as a subquery: `from {{ landed_records('matomo', 'visits') }} as landed`. -#}
{% macro landed_records(source_name, stream, latest=true) -%}
    {%- set landed -%}
        {%- if is_incremental() -%}
        (
            select * from {{ source(source_name, stream) }}
            where {{ journey_warehouse.changed_records_condition(source(source_name, stream)) }}
        )
        {%- else -%}
        {{ source(source_name, stream) }}
        {%- endif -%}
    {%- endset %}
    (
        select
            record_id,
            record,
            _run_id,
            _record_hash,
            {{ journey_warehouse.tz_to_utc_timestamp('record_updated_at') }} as record_updated_at,
            {{ journey_warehouse.tz_to_utc_timestamp('_extracted_at') }} as _extracted_at
        {%- if latest %}
        from (
            select
                *,
                row_number() over (
                    partition by record_id
                    order by record_updated_at desc nulls last, _extracted_at desc, _record_hash desc
                ) as _version_rank
            from {{ landed }} as landed_versions
        ) as versions
        where _version_rank = 1
        {%- else %}
        from {{ landed }} as landed_versions
        {%- endif %}
    )
{%- endmacro %}

{#- Inside is_incremental() of a staging model keyed by the landed record (config
    group_replace_config([<the column holding record_id>])): the records with a version in a
    batch after the model's watermark; every landed version of those records is read again, so
    the latest one is chosen among all, as in a full refresh (on Spark: every record of a bucket
    holding such a record). `column`: the column holding the record id in the filtered rows. -#}
{% macro changed_records_condition(relation, column='record_id') -%}
    {{ return(adapter.dispatch('changed_records_condition', 'journey_warehouse')(relation, column)) }}
{%- endmacro %}

{% macro default__changed_records_condition(relation, column) -%}
    {{ column }} in (
        select new_versions.record_id
        from {{ relation }} as new_versions
        where {{ journey_warehouse.tz_to_utc_timestamp('new_versions._extracted_at') }}
            > {{ journey_warehouse.incremental_watermark() }}
    )
{%- endmacro %}

{% macro spark__changed_records_condition(relation, column) -%}
    {{ journey_warehouse.group_bucket([column]) }} in (
        select {{ journey_warehouse.group_bucket(['record_id'], 'new_versions') }}
        from {{ relation }} as new_versions
        where {{ journey_warehouse.tz_to_utc_timestamp('new_versions._extracted_at') }}
            > {{ journey_warehouse.incremental_watermark() }}
    )
{%- endmacro %}

{#- The landed records of a stream with their JSON parsed once into the struct `alias`
    (see parse_json): the latest version per record, or every version when `latest` is false. -#}
{% macro parsed_landed_records(source_name, stream, structure, alias, latest=true) -%}
    select
        landed.record_id,
        landed.record_updated_at,
        landed._extracted_at,
        landed._run_id,
        landed._record_hash,
        {{ journey_warehouse.parse_json('landed.record', structure) }} as {{ alias }}
    from {{ journey_warehouse.landed_records(source_name, stream, latest) }} as landed
{%- endmacro %}
