{#- A deterministic key from several columns (null-safe), like dbt_utils.generate_surrogate_key. -#}
{% macro surrogate_key(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '_null_')") -%}
        {%- if not loop.last -%}{%- do parts.append("'|'") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{#- The join condition "the same source record" between `left` and `right` (a relation with
    `source, stream, record_id`, such as identity_record_persons). `left_prefix` names a record
    reference held in three prefixed columns: `login_record_` means `login_record_source`,
    `login_record_stream`, `login_record_id`. -#}
{% macro same_record(left, right, left_prefix='') -%}
    {%- set id_column = left_prefix ~ 'id' if left_prefix else 'record_id' -%}
    {{ left }}.{{ left_prefix }}source = {{ right }}.source
    and {{ left }}.{{ left_prefix }}stream = {{ right }}.stream
    and {{ left }}.{{ id_column }} = {{ right }}.record_id
{%- endmacro %}
