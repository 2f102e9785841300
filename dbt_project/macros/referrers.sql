{#- How a referring site reads as a traffic source (contracts §6.6). The referrer is always read
    by its normalised host (url_host: lower-case, without scheme, "www.", port or path), never
    by the raw referrer text.

    traffic_source_matches(relation, key_column) is a subquery with one row per distinct
    non-null value of `key_column` (a host or a source) that names a source of seed
    `traffic_source_categories`: the value equals the seed's source or contains it as whole
    host labels ("m.facebook.com" names "facebook", "shopping.google.com" names
    "shopping.google"); the longest seed source wins. Columns: matched_key, traffic_source (the
    seed's name), source_category (search, social, shopping, video).

    referring_host_mapping(relation) is a subquery with one row per distinct non-null
    `referring_host` of `relation` (a url_host() value) and how a record that carries only a
    referrer URL (shop orders and checkouts, file-dropped page views) reads it: traffic_source
    (the seed's name, else the host), traffic_medium (organic for a search engine, social for a
    social network, else referral) and referrer_type (search, social, else website). Join it on
    referring_host; a record without a referring host is direct. -#}
{% macro traffic_source_matches(relation, key_column) -%}
    (
        select
            matched_key,
            traffic_source,
            source_category
        from (
            select
                keys.matched_key,
                lower(trim(categories.traffic_source)) as traffic_source,
                lower(trim(categories.source_category)) as source_category,
                row_number() over (
                    partition by keys.matched_key
                    order by length(trim(categories.traffic_source)) desc, lower(trim(categories.traffic_source))
                ) as match_rank
            from (
                select distinct {{ key_column }} as matched_key
                from {{ relation }}
                where {{ key_column }} is not null
            ) as keys
            inner join {{ ref('traffic_source_categories') }} as categories
                on {{ dbt.position("'.' || lower(trim(categories.traffic_source)) || '.'", "'.' || keys.matched_key || '.'") }} > 0
        ) as matches
        where match_rank = 1
    )
{%- endmacro %}

{% macro referring_host_mapping(relation) -%}
    (
        select
            hosts.referring_host,
            coalesce(matches.traffic_source, hosts.referring_host) as traffic_source,
            case matches.source_category
                when 'search' then 'organic'
                when 'social' then 'social'
                else 'referral'
            end as traffic_medium,
            case matches.source_category
                when 'search' then 'search'
                when 'social' then 'social'
                else 'website'
            end as referrer_type
        from (
            select distinct referring_host
            from {{ relation }}
            where referring_host is not null
        ) as hosts
        left join {{ journey_warehouse.traffic_source_matches(relation, 'referring_host') }} as matches
            on hosts.referring_host = matches.matched_key
    )
{%- endmacro %}
