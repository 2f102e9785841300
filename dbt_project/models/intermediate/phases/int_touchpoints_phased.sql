{#- Every touchpoint with its person and its phase (contracts §6.2). The person, and which
    touchpoints are left out (erased persons, records their vendor removed), come from
    int_touchpoints_persons. Phases come from the seeds `journey_phase_rules`
    (touchpoint_type, condition, phase) and `journey_phases` (phase, phase_rank, label), so the
    phase model is configuration. Conditions a rule may name:
      any; prospect / customer (the person's first order is strictly earlier: customer);
      first_order / repeat_order (order touchpoints);
      nps_promoter (score 9-10) / nps_passive (7-8) / nps_detractor (0-6) (nps_response);
      review_positive (rating 4-5) / review_negative (1-3) (review).
    A touchpoint type no rule names is not phase evidence (phase null). Where several rules
    match, the highest-ranked phase wins.

    Incremental by person (affected_groups_config on person_group): a night recomputes the
    touchpoints of the persons int_affected_persons lists — persons touched by new data or whose
    records changed person — and of the records without a person that changed; the rest stay as
    built. A person's rows depend only on that person's touchpoints (the first order). -#}
{{ config(**affected_groups_config('person_group')) }}
-- depends_on: {{ ref('int_affected_persons') }}

with

touchpoints as (
    select * from {{ ref('int_touchpoints_persons') }}
),

with_person as (
    {% if is_incremental() -%}
    {{ rows_of_affected_groups('touchpoints', 'person_group') }}
    {%- else -%}
        select * from touchpoints
    {%- endif %}
),

phase_rules as (
    select
        lower(trim(touchpoint_type)) as touchpoint_type,
        lower(trim(condition)) as rule_condition,
        lower(trim(phase)) as phase
    from {{ ref('journey_phase_rules') }}
),

journey_phases as (
    select
        lower(trim(phase)) as phase,
        phase_rank
    from {{ ref('journey_phases') }}
),

first_orders as (
    select
        person_id,
        min(occurred_at) as first_order_at
    from with_person
    where
        touchpoint_type = 'order'
        and person_id is not null
    group by person_id
),

conditioned as (
    select
        with_person.*,
        first_orders.first_order_at,
        coalesce(first_orders.first_order_at < with_person.occurred_at, false) as is_customer,
        case
            when with_person.touchpoint_type = 'order' and first_orders.first_order_at < with_person.occurred_at
                then 'repeat_order'
            when with_person.touchpoint_type = 'order' then 'first_order'
        end as order_condition,
        case
            when with_person.touchpoint_type = 'nps_response' and with_person.touchpoint_score >= 9 then 'nps_promoter'
            when with_person.touchpoint_type = 'nps_response' and with_person.touchpoint_score >= 7 then 'nps_passive'
            when with_person.touchpoint_type = 'nps_response' and with_person.touchpoint_score >= 0 then 'nps_detractor'
            when with_person.touchpoint_type = 'review' and with_person.touchpoint_score >= 4 then 'review_positive'
            when with_person.touchpoint_type = 'review' and with_person.touchpoint_score >= 1 then 'review_negative'
        end as score_condition
    from with_person
    left join first_orders
        on with_person.person_id = first_orders.person_id
),

matched_rules as (
    select
        conditioned.touchpoint_id,
        phase_rules.phase,
        journey_phases.phase_rank,
        row_number() over (
            partition by conditioned.touchpoint_id
            order by journey_phases.phase_rank desc, phase_rules.phase asc
        ) as rule_rank
    from conditioned
    inner join phase_rules
        on
            conditioned.touchpoint_type = phase_rules.touchpoint_type
            and phase_rules.rule_condition in (
                'any',
                case when conditioned.is_customer then 'customer' else 'prospect' end,
                conditioned.order_condition,
                conditioned.score_condition
            )
    inner join journey_phases
        on phase_rules.phase = journey_phases.phase
),

final as (
    select
        conditioned.touchpoint_id,
        conditioned.person_id,
        conditioned.occurred_at,
        conditioned.source,
        conditioned.stream,
        conditioned.record_id,
        conditioned.touchpoint_type,
        conditioned.channel,
        conditioned.traffic_source,
        conditioned.traffic_medium,
        conditioned.campaign,
        conditioned.touchpoint_value,
        conditioned.touchpoint_score,
        matched_rules.phase,
        matched_rules.phase_rank,
        conditioned.is_customer,
        conditioned.first_order_at,
        conditioned.person_group,
        conditioned._extracted_at{{ group_bucket_column(['person_group'], 'conditioned') }}  -- noqa: LT02
    from conditioned
    left join matched_rules
        on
            conditioned.touchpoint_id = matched_rules.touchpoint_id
            and matched_rules.rule_rank = 1
)

select * from final
