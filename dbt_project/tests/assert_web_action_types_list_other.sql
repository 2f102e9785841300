{#- Seed web_action_types must name `other`: the row that says what every unlisted Matomo
    action type counts as (int_web_actions_classified joins every action to a listed kind). -#}
select 'web_action_types has no row other' as problem
where not exists (
    select 1 from {{ ref('web_action_types') }} where action_type = 'other'
)
