{#- Every touchpoint (contracts §6.1) of every source, one row per touchpoint, without a person
    (person ids change when identities merge; int_touchpoints_phased attaches them).

    Incremental: every record (source, stream, record_id) with a touchpoint extracted since the
    watermark has all its touchpoints recomputed (delete+insert on the record), so a record
    whose touchpoints change (an order cancelled, new email activity) is replaced whole. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['source', 'stream', 'record_id'],
) }}

{%- set per_source = ['matomo', 'mailchimp', 'shopify', 'zendesk', 'filedrop'] -%}

with

touchpoints as (
    {%- for source_name in per_source %}
    select * from {{ ref('int_touchpoints__' ~ source_name) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

{% if is_incremental() %}
changed_records as (
    select distinct source, stream, record_id
    from touchpoints
    where _extracted_at > {{ incremental_watermark() }}
),

selected as (
    select touchpoints.*
    from touchpoints
    inner join changed_records
        on touchpoints.source = changed_records.source
        and touchpoints.stream = changed_records.stream
        and touchpoints.record_id = changed_records.record_id
),
{% else %}
selected as (
    select * from touchpoints
),
{% endif %}

final as (
    select * from selected
)

select * from final
