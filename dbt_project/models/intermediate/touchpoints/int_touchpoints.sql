{#- Every touchpoint (contracts §6.1) of every source, one row per touchpoint, without a person
    (person ids change when identities merge; int_touchpoints_phased attaches them). One view
    per domain (web, email, shop, support, feedback) maps the vendor and the file-drop records
    of its domain alike.

    Incremental: every record (source, stream, record_id) with a touchpoint extracted since the
    watermark has all its touchpoints recomputed (delete+insert on the record), so a record
    whose touchpoints change (an order cancelled, new email activity) is replaced whole. -#}
{{ config(**group_replace_config(['source', 'stream', 'record_id'])) }}

{%- set per_domain = ['web', 'email', 'shop', 'support', 'feedback'] -%}

with

touchpoints as (
    {%- for domain in per_domain %}
        select * from {{ ref('int_touchpoints__' ~ domain) }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

selected as (
    {% if is_incremental() -%}
    {{ rows_of_changed_groups('touchpoints', ['source', 'stream', 'record_id']) }}
    {%- else -%}
        select * from touchpoints
    {%- endif %}
),

final as (
    select selected.*{{ group_bucket_column(['source', 'stream', 'record_id'], 'selected') }}
    from selected
)

select * from final
