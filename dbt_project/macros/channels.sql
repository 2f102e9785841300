{#- Channel grouping (contracts §6.6): GA4's default channel group rules as data. Seed
    `channel_groups` holds the rules (evaluated by priority, first match wins), seed
    `traffic_source_categories` which sources are search engines, social networks, shopping
    sites or video sites. A row's match keys are its lower-cased source, medium and campaign
    name; a visit without campaign parameters or referrer is source `(direct)`, medium
    `(none)`, and a missing value is `(not set)`. Nothing matched: `Unassigned`.

    A rule cell (columns sources, mediums, campaigns) is empty (anything), a `|`-separated list
    of values (a source value may be `@search`, `@social`, `@shopping` or `@video`: any source
    of that category), or `~` followed by a regular expression the key must contain a match of
    (anchor it with ^ and $ to match the whole key). A rule matches when all its cells do;
    several rows of one channel are alternatives.

    channel_mapping(relation) is a subquery with one row per distinct key triple of `relation`
    and its channel, to join on the same keys:

        left join {{ channel_mapping('actions') }} as channels
            on {{ channel_join('actions', 'channels') }}

    `relation` must have columns traffic_source, traffic_medium, campaign, referrer_type. -#}

{%- macro channel_is_direct(relation_alias) -%}
    (
        {{ relation_alias }}referrer_type = 'direct'
        or (
            nullif(trim({{ relation_alias }}traffic_source), '') is null
            and nullif(trim({{ relation_alias }}traffic_medium), '') is null
            and nullif(trim({{ relation_alias }}campaign), '') is null
        )
    )
{%- endmacro %}

{#- The three match keys of a row of `relation_alias` (an alias followed by a dot, or ''). -#}
{% macro channel_source_key(relation_alias='') -%}
    case
        when {{ journey_warehouse.channel_is_direct(relation_alias) }} then '(direct)'
        else coalesce(nullif(lower(trim({{ relation_alias }}traffic_source)), ''), '(not set)')
    end
{%- endmacro %}

{% macro channel_medium_key(relation_alias='') -%}
    case
        when {{ journey_warehouse.channel_is_direct(relation_alias) }} then '(none)'
        else coalesce(nullif(lower(trim({{ relation_alias }}traffic_medium)), ''), '(not set)')
    end
{%- endmacro %}

{% macro channel_campaign_key(relation_alias='') -%}
    coalesce(nullif(lower(trim({{ relation_alias }}campaign)), ''), '(not set)')
{%- endmacro %}

{% macro channel_keys(relation) -%}
    (
        select distinct
            {{ journey_warehouse.channel_source_key() }} as source_key,
            {{ journey_warehouse.channel_medium_key() }} as medium_key,
            {{ journey_warehouse.channel_campaign_key() }} as campaign_key
        from {{ relation }}
    )
{%- endmacro %}

{% macro channel_mapping(relation) -%}
    (
        select
            keys.source_key,
            keys.medium_key,
            keys.campaign_key,
            coalesce(min(case when rules.rule_rank = 1 then rules.channel_group end), 'Unassigned') as channel
        from {{ journey_warehouse.channel_keys(relation) }} as keys
        left join (
            select
                candidates.source_key,
                candidates.medium_key,
                candidates.campaign_key,
                candidates.channel_group,
                row_number() over (
                    partition by candidates.source_key, candidates.medium_key, candidates.campaign_key
                    order by candidates.priority, candidates.channel_group
                ) as rule_rank
            from (
                select
                    keys.source_key,
                    keys.medium_key,
                    keys.campaign_key,
                    channel_groups.channel_group,
                    channel_groups.priority
                from {{ journey_warehouse.channel_keys(relation) }} as keys
                left join {{ journey_warehouse.traffic_source_matches(journey_warehouse.channel_keys(relation), 'source_key') }} as categories
                    on keys.source_key = categories.matched_key
                cross join {{ ref('channel_groups') }} as channel_groups
                where
                    (
                        {{ journey_warehouse.channel_rule_matches('channel_groups.sources', 'keys.source_key') }}
                        or (
                            categories.source_category is not null
                            and {{ journey_warehouse.channel_rule_lists('channel_groups.sources', "'@' || categories.source_category") }}
                        )
                    )
                    and {{ journey_warehouse.channel_rule_matches('channel_groups.mediums', 'keys.medium_key') }}
                    and {{ journey_warehouse.channel_rule_matches('channel_groups.campaigns', 'keys.campaign_key') }}
            ) as candidates
        ) as rules
            on
                keys.source_key = rules.source_key
                and keys.medium_key = rules.medium_key
                and keys.campaign_key = rules.campaign_key
        group by keys.source_key, keys.medium_key, keys.campaign_key
    )
{%- endmacro %}

{#- A rule cell matches a key: empty, a list naming the key, or a regular expression. -#}
{% macro channel_rule_matches(rule_cell, key) -%}
    (
        coalesce(trim({{ rule_cell }}), '') = ''
        or (
            substring(trim({{ rule_cell }}), 1, 1) = '~'
            and {{ journey_warehouse.regex_contains(key, 'substring(trim(' ~ rule_cell ~ '), 2)') }}
        )
        or {{ journey_warehouse.channel_rule_lists(rule_cell, key) }}
    )
{%- endmacro %}

{#- A list cell (not a regular expression) names `value`. -#}
{% macro channel_rule_lists(rule_cell, value) -%}
    (
        substring(coalesce(trim({{ rule_cell }}), ''), 1, 1) <> '~'
        and {{ dbt.position("'|' || " ~ value ~ " || '|'", "'|' || lower(trim(" ~ rule_cell ~ ")) || '|'") }} > 0
    )
{%- endmacro %}

{% macro channel_join(relation_alias, mapping_alias) -%}
    {{ mapping_alias }}.source_key = {{ journey_warehouse.channel_source_key(relation_alias ~ '.') }}
    and {{ mapping_alias }}.medium_key = {{ journey_warehouse.channel_medium_key(relation_alias ~ '.') }}
    and {{ mapping_alias }}.campaign_key = {{ journey_warehouse.channel_campaign_key(relation_alias ~ '.') }}
{%- endmacro %}

{#- `expression` contains a match of the regular expression `pattern` (RE2 on DuckDB, Java
    regular expressions on Spark: write patterns in their common subset). -#}
{% macro regex_contains(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_contains', 'journey_warehouse')(expression, pattern)) }}
{%- endmacro %}

{% macro duckdb__regex_contains(expression, pattern) -%}
    regexp_matches({{ expression }}, {{ pattern }})
{%- endmacro %}

{% macro default__regex_contains(expression, pattern) -%}
    ({{ expression }} rlike {{ pattern }})
{%- endmacro %}
