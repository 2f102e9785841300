{#- The activity half of the bot rule (contracts §6.1): a visit of at least 20 actions that
    lasted fewer seconds than it has actions. (The other half, the browser name of seed
    `bot_browsers`, needs a browser name, which only Matomo visits carry.) -#}
{% macro is_bot_by_activity(action_count, duration_seconds) -%}
    (coalesce({{ action_count }}, 0) >= 20 and coalesce({{ duration_seconds }}, 0) < {{ action_count }})
{%- endmacro %}
