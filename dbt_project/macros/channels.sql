{#- Channel grouping (contracts §6.6), rules from seeds `channel_groups` (evaluated by priority,
    first match wins) and `traffic_source_categories` (which sources are search engines or
    social networks). Matching is on lower-cased source / medium / referrer type; an empty
    rule cell matches anything, `(none)` matches a missing value, `@search` / `@social` a
    source of that category. Nothing matched: `Unassigned`.

    channel_keys(...) gives the three normalised match keys of a row; channel_mapping(...)
    a subquery with one row per distinct key triple of `relation` and its channel, to join on
    the same keys:

        left join {{ channel_mapping('actions') }} as channels
            on {{ channel_join('actions', 'channels') }}

    `relation` must have columns traffic_source, traffic_medium, referrer_type. -#}

{% macro channel_key(expression) -%}
    coalesce(nullif(lower(trim({{ expression }})), ''), '(none)')
{%- endmacro %}

{% macro channel_keys(relation) -%}
    (
        select distinct
            {{ journey_warehouse.channel_key('traffic_source') }} as source_key,
            {{ journey_warehouse.channel_key('traffic_medium') }} as medium_key,
            {{ journey_warehouse.channel_key('referrer_type') }} as referrer_type_key
        from {{ relation }}
    )
{%- endmacro %}

{% macro channel_mapping(relation) -%}
    (
        select
            keys.source_key,
            keys.medium_key,
            keys.referrer_type_key,
            coalesce(min(case when rules.rule_rank = 1 then rules.channel_group end), 'Unassigned') as channel
        from {{ journey_warehouse.channel_keys(relation) }} as keys
        left join (
            select
                candidates.source_key,
                candidates.medium_key,
                candidates.referrer_type_key,
                candidates.channel_group,
                row_number() over (
                    partition by candidates.source_key, candidates.medium_key, candidates.referrer_type_key
                    order by candidates.priority, candidates.channel_group
                ) as rule_rank
            from (
                select
                    keys.source_key,
                    keys.medium_key,
                    keys.referrer_type_key,
                    channel_groups.channel_group,
                    channel_groups.priority
                from {{ journey_warehouse.channel_keys(relation) }} as keys
                left join {{ ref('traffic_source_categories') }} as source_categories
                    on keys.source_key = lower(source_categories.traffic_source)
                cross join {{ ref('channel_groups') }} as channel_groups
                where
                    {{ journey_warehouse.channel_rule_matches('channel_groups.mediums', 'keys.medium_key') }}
                    and (
                        {{ journey_warehouse.channel_rule_matches('channel_groups.sources', 'keys.source_key') }}
                        or (
                            source_categories.source_category is not null
                            and {{ journey_warehouse.channel_rule_matches('channel_groups.sources', "'@' || lower(source_categories.source_category)") }}
                        )
                    )
                    and {{ journey_warehouse.channel_rule_matches('channel_groups.referrer_types', 'keys.referrer_type_key') }}
            ) as candidates
        ) as rules
            on keys.source_key = rules.source_key
            and keys.medium_key = rules.medium_key
            and keys.referrer_type_key = rules.referrer_type_key
        group by keys.source_key, keys.medium_key, keys.referrer_type_key
    )
{%- endmacro %}

{#- A rule cell (pipe-separated values, empty = any) matches a key. -#}
{% macro channel_rule_matches(rule_cell, key) -%}
    (
        coalesce(trim({{ rule_cell }}), '') = ''
        or {{ dbt.position("'|' || " ~ key ~ " || '|'", "'|' || lower(" ~ rule_cell ~ ") || '|'") }} > 0
    )
{%- endmacro %}

{% macro channel_join(relation_alias, mapping_alias) -%}
    {{ mapping_alias }}.source_key = {{ journey_warehouse.channel_key(relation_alias ~ '.traffic_source') }}
    and {{ mapping_alias }}.medium_key = {{ journey_warehouse.channel_key(relation_alias ~ '.traffic_medium') }}
    and {{ mapping_alias }}.referrer_type_key = {{ journey_warehouse.channel_key(relation_alias ~ '.referrer_type') }}
{%- endmacro %}
