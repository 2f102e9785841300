{#- Person-grain marts (fct_touchpoints, fct_attribution, dim_persons): incremental by affected
    person, like the person-grain intermediate models (affected_groups_config), with two
    differences a mart needs:
      - `always`: an SQL condition on the mart's rows that are rebuilt every night whatever the
        affected persons — rows without a person (their group is not a person id) and rows that
        depend on global figures (Markov credits depend on every path through the removal
        effects). None: every row belongs to a person.
      - `driver`: the model listing the affected groups (column `person_group`);
        int_affected_persons unless the mart has inputs of its own to compare (dim_persons).
    DuckDB (and PostgreSQL): a pre-hook deletes the rows of every affected person (old ids
    included: a merged-away id has no new row to match) and every `always` row; the model then
    selects exactly those persons' and `always` rows and appends them (`append`; a
    `delete+insert` on the person would also delete the persons of the `always` rows). Spark:
    `insert_overwrite` of partitions `_group_bucket` — the person's hash bucket, and bucket -1 for
    every `always` row, so those are overwritten together without rewriting every person's
    bucket — after a pre-hook has dropped the buckets of every affected person and bucket -1
    (drop_affected_buckets): a bucket that holds only ids gone tonight gets no row to overwrite
    it with. Use as `config(**affected_persons_config('person_id', always="..."))`, select the
    rows with affected_person_condition / rows_of_affected_persons, and end the final select
    list with affected_person_bucket_column. -#}
{% macro affected_persons_config(key, always=none, driver='int_affected_persons') -%}
    {{ return(adapter.dispatch('affected_persons_config', 'journey_warehouse')(key, always, driver)) }}
{%- endmacro %}

{% macro default__affected_persons_config(key, always, driver) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'fail',
        'pre_hook': "{{ journey_warehouse.delete_affected_persons("
            ~ (key | tojson) ~ ", " ~ (always | tojson) ~ ", " ~ (driver | tojson) ~ ") }}",
    }) }}
{%- endmacro %}

{% macro spark__affected_persons_config(key, always, driver) -%}
    {%- set config = journey_warehouse.spark__group_replace_config([key]) -%}
    {%- do config.update({
        'pre_hook': "{{ journey_warehouse.drop_affected_buckets("
            ~ (driver | tojson) ~ ", " ~ ((always is not none) | tojson) ~ ") }}",
    }) -%}
    {{ return(config) }}
{%- endmacro %}

{#- Pre-hook of the Spark configs of affected_persons_config and affected_groups_config: inside
    an incremental run, drop the partitions (`_group_bucket`) of every group `driver` lists
    (column `person_group`: old ids and new), and bucket -1 when the model has `always` rows.
    Spark's dynamic partition overwrite then writes back every such bucket that has rows
    tonight; a bucket whose groups all vanished (merged away, erased) stays dropped instead of
    keeping its old rows. A Spark statement, reached only through the Spark configs. -#}
{% macro drop_affected_buckets(driver, always) -%}
    {%- if is_incremental() and execute -%}
    {{ journey_warehouse.drop_buckets(
        'select distinct ' ~ journey_warehouse.group_bucket(['person_group'])
        ~ ' as bucket from ' ~ ref(driver),
        [-1] if always else []) }}
    {%- endif -%}
{%- endmacro %}

{#- `alter table ... drop if exists partition (...)` of every `_group_bucket` the query lists
    (column `bucket`) and of `extra` (a list of buckets); nothing when there is none. One
    statement for every bucket (at most var `incremental_group_buckets` + 1). Spark only. -#}
{% macro drop_buckets(bucket_query, extra=[]) -%}
    {%- set listed = run_query(bucket_query ~ ' order by bucket') -%}
    {%- set buckets = extra | list -%}
    {%- for bucket in listed.columns[0].values() -%}
        {%- do buckets.append(bucket | int) -%}
    {%- endfor -%}
    {%- if buckets %}
    alter table {{ this }} drop if exists
        {%- for bucket in buckets %}
        partition (_group_bucket = {{ bucket }}){{ ',' if not loop.last }}
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of affected_persons_config (DuckDB, PostgreSQL): inside an incremental run, delete
    the rows of every affected person and every `always` row. -#}
{% macro delete_affected_persons(key, always, driver) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where
        {{ key }} in (select person_group from {{ ref(driver) }})
        {%- if always %}
        or ({{ always }})
        {%- endif %}
    {%- endif -%}
{%- endmacro %}

{#- Inside is_incremental(): the condition "column `key` holds an affected person" (on Spark:
    a person of a bucket holding an affected group, since whole buckets are overwritten). -#}
{% macro affected_person_condition(key, driver='int_affected_persons') -%}
    {{ return(adapter.dispatch('affected_person_condition', 'journey_warehouse')(key, driver)) }}
{%- endmacro %}

{% macro default__affected_person_condition(key, driver) -%}
    {{ key }} in (select person_group from {{ ref(driver) }})
{%- endmacro %}

{% macro spark__affected_person_condition(key, driver) -%}
    {{ journey_warehouse.group_bucket([key]) }} in (
        select {{ journey_warehouse.group_bucket(['person_group']) }} from {{ ref(driver) }}
    )
{%- endmacro %}

{#- Inside is_incremental(): the rows of `relation` (a CTE name) of affected persons, and its
    `always` rows. -#}
{% macro rows_of_affected_persons(relation, key, always=none, driver='int_affected_persons') -%}
    select *
    from {{ relation }}
    where
        {{ journey_warehouse.affected_person_condition(key, driver) }}
        {%- if always %}
        or ({{ always }})
        {%- endif %}
{%- endmacro %}

{#- The rows of `relation` (a CTE name) a model configured with affected_persons_config builds:
    every row in a full build, rows_of_affected_persons in an incremental run. -#}
{% macro rows_to_build(relation, key, always=none, driver='int_affected_persons') -%}
    {%- if is_incremental() -%}
        {{ journey_warehouse.rows_of_affected_persons(relation, key, always, driver) }}
    {%- else -%}
        select * from {{ relation }}
    {%- endif -%}
{%- endmacro %}

{#- The partition column of affected_persons_config on engines that overwrite partitions
    (`, <bucket> as _group_bucket`, to end the final select list, whose columns `key` and
    `always` name): -1 for `always` rows; nothing on engines that delete by person. -#}
{% macro affected_person_bucket_column(key, always=none) -%}
    {{ return(adapter.dispatch('affected_person_bucket_column', 'journey_warehouse')(key, always)) }}
{%- endmacro %}

{% macro default__affected_person_bucket_column(key, always) -%}
{%- endmacro %}

{% macro spark__affected_person_bucket_column(key, always) -%}
    {%- if always %}
    , case
        when {{ always }} then -1
        else {{ journey_warehouse.group_bucket([key]) }}
    end as _group_bucket
    {%- else %}
    , {{ journey_warehouse.group_bucket([key]) }} as _group_bucket
    {%- endif %}
{%- endmacro %}

{#- One row per person of `relation` (identity_map): the identifier counts and first/last seen
    times dim_persons publishes; int_affected_dim_persons compares them with dim_persons' own. -#}
{% macro person_identifier_summary(relation) -%}
    select
        person_id,
        count(*) as identifiers,
        count(case when identifier_kind = 'web_visitor_id' then 1 end) as web_visitor_ids,
        count(case when identifier_kind = 'web_user_id' then 1 end) as web_user_ids,
        count(case when identifier_kind = 'email' then 1 end) as emails,
        count(case when identifier_kind = 'email_subscriber_id' then 1 end) as email_subscriber_ids,
        count(case when identifier_kind = 'shop_customer_id' then 1 end) as shop_customer_ids,
        count(case when identifier_kind = 'checkout_token' then 1 end) as checkout_tokens,
        count(case when identifier_kind = 'support_requester_id' then 1 end) as support_requester_ids,
        count(case when identifier_kind = 'phone' then 1 end) as phones,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at
    from {{ relation }}
    group by person_id
{%- endmacro %}
