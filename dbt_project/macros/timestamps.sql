{#- All timestamps leave staging as `timestamp` without time zone, meaning UTC. -#}

{#- ISO-8601 text with or without an offset ("Z", "+00:00", "-05:00"); no offset means UTC
    (contracts §4). Unparsable text gives null (the landing layer quarantines those). -#}
{% macro iso_to_utc_timestamp(expression) -%}
    {{ return(adapter.dispatch('iso_to_utc_timestamp', 'journey_warehouse')(expression)) }}
{%- endmacro %}

{% macro duckdb__iso_to_utc_timestamp(expression) -%}
    case
        when regexp_matches(trim({{ expression }}), '[T ][0-9:.]+(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$')
            then timezone('UTC', try_cast(trim({{ expression }}) as timestamptz))
        else try_cast(trim({{ expression }}) as timestamp)
    end
{%- endmacro %}

{% macro default__iso_to_utc_timestamp(expression) -%}
    to_utc_timestamp(try_cast({{ expression }} as timestamp), 'UTC')
{%- endmacro %}

{#- Unix seconds (Matomo) -> timestamp. -#}
{% macro epoch_seconds_to_timestamp(expression) -%}
    {{ return(adapter.dispatch('epoch_seconds_to_timestamp', 'journey_warehouse')(expression)) }}
{%- endmacro %}

{% macro duckdb__epoch_seconds_to_timestamp(expression) -%}
    make_timestamp(cast(round(cast({{ expression }} as double) * 1000000) as bigint))
{%- endmacro %}

{% macro default__epoch_seconds_to_timestamp(expression) -%}
    timestamp_seconds({{ expression }})
{%- endmacro %}

{#- A Parquet timestamp with time zone (landing `_extracted_at`, `record_updated_at`) -> UTC timestamp. -#}
{% macro tz_to_utc_timestamp(expression) -%}
    {{ return(adapter.dispatch('tz_to_utc_timestamp', 'journey_warehouse')(expression)) }}
{%- endmacro %}

{% macro duckdb__tz_to_utc_timestamp(expression) -%}
    timezone('UTC', {{ expression }})
{%- endmacro %}

{% macro default__tz_to_utc_timestamp(expression) -%}
    cast({{ expression }} as timestamp)
{%- endmacro %}

{#- Seconds between two timestamps, fractional seconds kept. -#}
{% macro seconds_between(start_expression, end_expression) -%}
    {{ return(adapter.dispatch('seconds_between', 'journey_warehouse')(start_expression, end_expression)) }}
{%- endmacro %}

{% macro duckdb__seconds_between(start_expression, end_expression) -%}
    (epoch({{ end_expression }}) - epoch({{ start_expression }}))
{%- endmacro %}

{% macro default__seconds_between(start_expression, end_expression) -%}
    (unix_micros({{ end_expression }}) - unix_micros({{ start_expression }})) / 1000000.0
{%- endmacro %}
