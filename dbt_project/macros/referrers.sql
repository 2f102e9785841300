{#- How a referring site reads as a traffic source (contracts §6.6), for records that carry a
    referrer URL rather than a tool's own referrer fields (shop orders and checkouts,
    file-dropped page views): a host naming a search engine or a social network of seed
    `traffic_source_categories` (a whole host label; the longest source name wins) is that
    source with medium organic / social and referrer type search / social; any other host is a
    referral (referrer type website) from that host.

    referring_host_mapping(relation) is a subquery with one row per distinct non-null
    `referring_host` of `relation` (a url_host() value) and its traffic_source, traffic_medium
    and referrer_type; join it on referring_host. A record without a referring host is direct. -#}
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
        from {{ journey_warehouse.referring_hosts(relation) }} as hosts
        left join (
            select
                hosts.referring_host,
                lower(categories.traffic_source) as traffic_source,
                lower(categories.source_category) as source_category,
                row_number() over (
                    partition by hosts.referring_host
                    order by length(categories.traffic_source) desc, lower(categories.traffic_source)
                ) as match_rank
            from {{ journey_warehouse.referring_hosts(relation) }} as hosts
            inner join {{ ref('traffic_source_categories') }} as categories
                on {{ dbt.position("'.' || lower(categories.traffic_source) || '.'", "'.' || hosts.referring_host || '.'") }} > 0
        ) as matches
            on
                hosts.referring_host = matches.referring_host
                and matches.match_rank = 1
    )
{%- endmacro %}

{% macro referring_hosts(relation) -%}
    (
        select distinct referring_host
        from {{ relation }}
        where referring_host is not null
    )
{%- endmacro %}
