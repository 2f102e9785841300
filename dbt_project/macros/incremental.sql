{#- Incremental watermark, batch-based: the newest landing batch (`_extracted_at`, stamped on
    every landed row by the extraction run that landed it) already processed into the target.
    Rows of later batches are new; nothing depends on the wall clock, so a night that runs late,
    a skipped night or a backfill sees exactly the batches it has not processed yet. A failed
    night publishes nothing and its build starts from a copy of the published warehouse, so
    its batches stay above the published watermark and the next night picks them up.
    Use inside is_incremental(); `relation`: another model's table instead of the model's own. -#}
{% macro incremental_watermark(column='_extracted_at', relation=none) -%}
    (
        select coalesce(max({{ column }}), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
        from {{ relation if relation is not none else this }}
    )
{%- endmacro %}

{#- The last non-null value of `expression` in the window frame (`over_clause` without `over`). -#}
{% macro last_non_null(expression, over_clause) -%}
    {{ return(adapter.dispatch('last_non_null', 'journey_warehouse')(expression, over_clause)) }}
{%- endmacro %}

{% macro default__last_non_null(expression, over_clause) -%}
    last_value({{ expression }}) ignore nulls over ({{ over_clause }})
{%- endmacro %}

{% macro duckdb__last_non_null(expression, over_clause) -%}
    last_value({{ expression }} ignore nulls) over ({{ over_clause }})
{%- endmacro %}

{#- The config of an incremental model that replaces whole groups of rows — every row
    sharing the values of `keys` (a visitor's sessions, a record's touchpoints) — when any row
    of the group comes from a new batch. The strategy is the engine's (adapter.dispatch):
    DuckDB (and PostgreSQL) delete the changed groups and insert them again (`delete+insert` on
    `keys`); Spark's Parquet tables have no delete, so there the table is partitioned by
    `_group_bucket` (a hash of `keys` modulo var `incremental_group_buckets`, see
    group_bucket_column) and whole buckets are overwritten (`insert_overwrite`), the model
    selecting every group of a changed bucket. Use as `config(**group_replace_config([...]))`. -#}
{% macro group_replace_config(keys) -%}
    {{ return(adapter.dispatch('group_replace_config', 'journey_warehouse')(keys)) }}
{%- endmacro %}

{% macro default__group_replace_config(keys) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': keys,
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}

{% macro spark__group_replace_config(keys) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'insert_overwrite',
        'partition_by': ['_group_bucket'],
        'file_format': 'parquet',
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}

{#- The config of an incremental staging model whose rows are the children of a landed record
    (an order's shipping lines), `key` being its column holding the record's id: the children
    of every record with a version after the watermark are replaced, as group_replace_config
    replaces a group, and also when the new version has none. DuckDB (and PostgreSQL): a
    pre-hook first deletes the rows of every such record — `delete+insert` on `key` deletes
    only the keys present in the new rows, so the children of a record that lost its last one
    would stay — then the new rows are inserted. Spark: group_replace_config (`landed_records`
    reads every record of a changed bucket, so the bucket is rewritten with all its records'
    current children) after a pre-hook has dropped the changed buckets
    (drop_changed_records_buckets), for a bucket left with no child tonight. Use as `config(**record_children_config('order_id', 'shopify', 'orders'))`. -#}
{% macro record_children_config(key, source_name, stream) -%}
    {{ return(adapter.dispatch('record_children_config', 'journey_warehouse')(key, source_name, stream)) }}
{%- endmacro %}

{% macro default__record_children_config(key, source_name, stream) -%}
    {%- set children_config = journey_warehouse.default__group_replace_config([key]) -%}
    {%- do children_config.update({
        'pre_hook': "{{ journey_warehouse.delete_changed_records_children('"
            ~ key ~ "', '" ~ source_name ~ "', '" ~ stream ~ "') }}",
    }) -%}
    {{ return(children_config) }}
{%- endmacro %}

{% macro spark__record_children_config(key, source_name, stream) -%}
    {%- set children_config = journey_warehouse.spark__group_replace_config([key]) -%}
    {%- do children_config.update({
        'pre_hook': "{{ journey_warehouse.drop_changed_records_buckets('"
            ~ source_name ~ "', '" ~ stream ~ "') }}",
    }) -%}
    {{ return(children_config) }}
{%- endmacro %}

{#- Pre-hook of record_children_config (DuckDB, PostgreSQL): inside an incremental run, delete
    the rows of every record with a version landed after the model's watermark. -#}
{% macro delete_changed_records_children(key, source_name, stream) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where {{ journey_warehouse.changed_records_condition(source(source_name, stream), key) }}
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of record_children_config on Spark: inside an incremental run, drop the bucket of
    every record with a version landed after the model's watermark. The model then writes back
    each such bucket's records' current children; a bucket whose records tonight have none (an
    order that lost its only discount code, alone in its bucket) stays dropped instead of
    keeping the old rows a partition overwrite would leave. -#}
{% macro drop_changed_records_buckets(source_name, stream) -%}
    {%- if is_incremental() and execute -%}
    {{ journey_warehouse.drop_buckets(
        'select distinct ' ~ journey_warehouse.group_bucket(['record_id'], 'new_versions')
        ~ ' as bucket from ' ~ source(source_name, stream) ~ ' as new_versions where '
        ~ journey_warehouse.tz_to_utc_timestamp('new_versions._extracted_at')
        ~ ' > ' ~ journey_warehouse.incremental_watermark()) }}
    {%- endif -%}
{%- endmacro %}

{#- The partition column group_replace_config needs on engines that overwrite partitions
    (`, <bucket> as _group_bucket`, to end a select list); nothing where groups are deleted by key. -#}
{% macro group_bucket_column(keys, relation=none) -%}
    {{ return(adapter.dispatch('group_bucket_column', 'journey_warehouse')(keys, relation)) }}
{%- endmacro %}

{% macro default__group_bucket_column(keys, relation) -%}
{%- endmacro %}

{% macro spark__group_bucket_column(keys, relation) -%}
    , {{ journey_warehouse.group_bucket(keys, relation) }} as _group_bucket
{%- endmacro %}

{% macro group_bucket(keys, relation=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    pmod(hash({% for key in keys %}{{ prefix }}{{ key }}{{ ', ' if not loop.last }}{% endfor %}),
         {{ var('incremental_group_buckets') }})
{%- endmacro %}

{#- Inside is_incremental(): every row of `relation` (a CTE name) whose group — the values of
    `keys` — has at least one row from a batch after the watermark (on Spark: every row of a
    bucket holding such a group, see group_replace_config). -#}
{% macro rows_of_changed_groups(relation, keys) -%}
    {{ return(adapter.dispatch('rows_of_changed_groups', 'journey_warehouse')(relation, keys)) }}
{%- endmacro %}

{% macro default__rows_of_changed_groups(relation, keys) -%}
    select {{ relation }}.*
    from {{ relation }}
    inner join (
        select distinct {{ keys | join(', ') }}
        from {{ relation }}
        where _extracted_at > {{ journey_warehouse.incremental_watermark() }}
    ) as changed_groups
        on {% for key in keys -%}
            {{ relation }}.{{ key }} = changed_groups.{{ key }}{{ ' and ' if not loop.last }}
        {%- endfor %}
{%- endmacro %}

{% macro spark__rows_of_changed_groups(relation, keys) -%}
    select {{ relation }}.*
    from {{ relation }}
    inner join (
        select distinct {{ journey_warehouse.group_bucket(keys) }} as changed_bucket
        from {{ relation }}
        where _extracted_at > {{ journey_warehouse.incremental_watermark() }}
    ) as changed_buckets
        on {{ journey_warehouse.group_bucket(keys, relation) }} = changed_buckets.changed_bucket
{%- endmacro %}

{#- A table of the identity step published unchanged (contracts §5.3). -#}
{% macro published_identity_table(table) -%}
with

{{ table }} as (
    select * from {{ source('identity', table) }}
),

final as (
    select * from {{ table }}
)

select * from final
{%- endmacro %}

{#- Person grain. The config of an incremental model whose rows are replaced per affected
    group — a person, or a record without a person — listed by `int_affected_persons` (column
    `person_group`: every group, old id or new, whose rows change tonight). `key` is the
    model's column holding the group. DuckDB (and PostgreSQL): a pre-hook deletes the rows of
    every affected group first — a person id that no longer exists (merged into another) has
    no new row a `delete+insert` on the key could match — and the model inserts the affected
    groups' rows again (`delete+insert` on `key`, which then deletes nothing more). Spark:
    `insert_overwrite` of every `_group_bucket` holding an affected group, old ids included,
    after a pre-hook has dropped those buckets (drop_affected_buckets): a bucket holding only
    vanished ids gets no row tonight, and a partition overwrite would leave it as it was. Use as
    `config(**affected_groups_config('person_id'))` with rows_of_affected_groups. -#}
{% macro affected_groups_config(key) -%}
    {{ return(adapter.dispatch('affected_groups_config', 'journey_warehouse')(key)) }}
{%- endmacro %}

{% macro default__affected_groups_config(key) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': [key],
        'on_schema_change': 'fail',
        'pre_hook': "{{ journey_warehouse.delete_affected_groups('" ~ key ~ "') }}",
    }) }}
{%- endmacro %}

{% macro spark__affected_groups_config(key) -%}
    {%- set config = journey_warehouse.spark__group_replace_config([key]) -%}
    {%- do config.update({
        'pre_hook': "{{ journey_warehouse.drop_affected_buckets('int_affected_persons', false) }}",
    }) -%}
    {{ return(config) }}
{%- endmacro %}

{#- Pre-hook of affected_groups_config (DuckDB, PostgreSQL): inside an incremental run, delete
    the rows of every affected group. -#}
{% macro delete_affected_groups(key) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where {{ key }} in (select person_group from {{ ref('int_affected_persons') }})
    {%- endif -%}
{%- endmacro %}

{#- Inside is_incremental() of a model configured with affected_groups_config: the rows of
    `relation` (a CTE name) whose group (`key`) is affected (on Spark: every row of a bucket
    holding an affected group). -#}
{% macro rows_of_affected_groups(relation, key) -%}
    {{ return(adapter.dispatch('rows_of_affected_groups', 'journey_warehouse')(relation, key)) }}
{%- endmacro %}

{% macro default__rows_of_affected_groups(relation, key) -%}
    select {{ relation }}.*
    from {{ relation }}
    where {{ relation }}.{{ key }} in (select person_group from {{ ref('int_affected_persons') }})
{%- endmacro %}

{% macro spark__rows_of_affected_groups(relation, key) -%}
    select {{ relation }}.*
    from {{ relation }}
    where {{ journey_warehouse.group_bucket([key], relation) }} in (
        select {{ journey_warehouse.group_bucket(['person_group']) }}
        from {{ ref('int_affected_persons') }}
    )
{%- endmacro %}


{#- The `where` condition of a full outer join of `current` and `previous` on `key`: a row only
    on one side, or one of `columns` differs (nulls compare equal). -#}
{% macro rows_differ(current, previous, key, columns) -%}
    {{ current }}.{{ key }} is null
        or {{ previous }}.{{ key }} is null
        {%- for column in columns %}
        or {{ current }}.{{ column }} is distinct from {{ previous }}.{{ column }}
        {%- endfor %}
{%- endmacro %}
