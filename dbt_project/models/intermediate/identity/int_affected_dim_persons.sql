{#- The persons whose dim_persons row is rebuilt tonight (the driver of dim_persons, see
    affected_persons_config): the person groups int_affected_persons lists (touchpoints changed
    or moved), and every person whose identifier summary (person_identifier_summary of
    identity_map: counts per identifier kind, first and last seen) differs from the one dim_persons
    holds, read as built by the previous run (a relation looked up by name, not a `ref`, which
    would be a cycle) — a new person, a person merged away or erased (in dim_persons, not in
    identity_map), a person that gained or lost an identifier without touchpoints (a phone, a
    Shopify customer without orders). Identity re-stitches the whole history every night, so
    the summary is compared in full (one aggregate over identity_map). Only
    int_affected_persons' groups in a --full-refresh run or before dim_persons exists (it builds
    in full then). -#}

{%- set previous = adapter.get_relation(database=this.database, schema='marts', identifier='dim_persons') %}
{%- set compared = [
    'identifiers', 'web_visitor_ids', 'web_user_ids', 'emails', 'email_subscriber_ids',
    'shop_customer_ids', 'checkout_tokens', 'support_requester_ids', 'phones',
    'first_seen_at', 'last_seen_at',
] %}

with

affected_persons as (
    select person_group from {{ ref('int_affected_persons') }}
),

{% if previous is not none and not flags.FULL_REFRESH -%}
identity_map as (
    select * from {{ source('identity', 'identity_map') }}
),

current_summaries as (
    {{ person_identifier_summary('identity_map') }}
),

previous_summaries as (
    select
        person_id,
        {{ compared | join(',\n        ') }}
    from {{ previous }}
),

changed as (
    select coalesce(current_summaries.person_id, previous_summaries.person_id) as person_group
    from current_summaries
    full outer join previous_summaries
        on current_summaries.person_id = previous_summaries.person_id
    where {{ rows_differ('current_summaries', 'previous_summaries', 'person_id', compared) }}
),

affected as (
    select person_group from affected_persons
    union all
    select person_group from changed
),
{% else %}
-- noqa: disable=LT02
affected as (
    select person_group from affected_persons
),
-- noqa: enable=LT02
{% endif %}

final as (
    select distinct person_group
    from affected
)

select * from final
