{#- The columns every touchpoint model returns, in this order (int_touchpoints unions them by
    position). Every argument is a SQL expression: a column of the model's rows or a quoted
    literal (`"'mailchimp'"`), so one call serves the records of several sources. `sub_key`
    tells apart the touchpoints of one record. The person of a touchpoint is the person of its
    record, or of the record of the same source named by `person_record_stream` /
    `person_record_id` (a referral belongs to the referrer's shop customer record, not to the
    order that used the code). -#}
{% macro touchpoint_columns(source, stream, record_id, touchpoint_type, sub_key, occurred_at,
                            channel, traffic_source='null', traffic_medium='null', campaign='null',
                            touchpoint_value='null', touchpoint_score='null',
                            person_record_stream=none, person_record_id=none) -%}
        {{ journey_warehouse.surrogate_key([source, stream, record_id, touchpoint_type, sub_key]) }} as touchpoint_id,
        cast({{ source }} as {{ dbt.type_string() }}) as source,
        cast({{ stream }} as {{ dbt.type_string() }}) as stream,
        cast({{ record_id }} as {{ dbt.type_string() }}) as record_id,
        cast({{ touchpoint_type }} as {{ dbt.type_string() }}) as touchpoint_type,
        cast({{ occurred_at }} as {{ dbt.type_timestamp() }}) as occurred_at,
        cast({{ channel }} as {{ dbt.type_string() }}) as channel,
        cast({{ traffic_source }} as {{ dbt.type_string() }}) as traffic_source,
        cast({{ traffic_medium }} as {{ dbt.type_string() }}) as traffic_medium,
        cast({{ campaign }} as {{ dbt.type_string() }}) as campaign,
        cast({{ touchpoint_value }} as decimal(18, 2)) as touchpoint_value,
        cast({{ touchpoint_score }} as integer) as touchpoint_score,
        cast({{ source }} as {{ dbt.type_string() }}) as person_record_source,
        cast({{ person_record_stream or stream }} as {{ dbt.type_string() }}) as person_record_stream,
        cast({{ person_record_id or record_id }} as {{ dbt.type_string() }}) as person_record_id,
        _extracted_at
{%- endmacro %}

{#- The touchpoints of `touchpoints` (a CTE with int_touchpoints' columns) kept in the journey,
    with their person (`person_id`) and `person_group` — the body of int_touchpoints_persons
    (see there). int_affected_persons applies it to its candidate records' touchpoints only, so
    a night does not attach persons to the whole history to compare a few records. -#}
{% macro touchpoints_with_persons(touchpoints) -%}
    select
        with_person.*,
        coalesce(
            with_person.person_id,
            {{ dbt.concat(["'record '", journey_warehouse.surrogate_key(
                ['with_person.source', 'with_person.stream', 'with_person.record_id']
            )]) }}
        ) as person_group
    from (
        select
            {{ touchpoints }}.*,
            record_persons.person_id
        from {{ touchpoints }}
        left join {{ ref('int_record_persons') }} as record_persons
            on {{ journey_warehouse.same_record(touchpoints, 'record_persons', 'person_record_') }}
        left join {{ ref('int_record_persons') }} as own_records
            on {{ journey_warehouse.same_record(touchpoints, 'own_records') }}
        left join (
            select distinct
                source,
                stream,
                record_id
            from {{ ref('int_removed_records_unioned') }}
        ) as removed_records
            on {{ journey_warehouse.same_record(touchpoints, 'removed_records') }}
        where
            not coalesce(own_records.is_suppressed, false)
            and not coalesce(record_persons.is_suppressed, false)
            and removed_records.record_id is null
    ) as with_person
{%- endmacro %}
