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

{#- a double, as DuckDB's: a decimal literal divisor would make Spark's quotient a decimal
    rounded to a few places -#}
{% macro default__seconds_between(start_expression, end_expression) -%}
    (cast(unix_micros({{ end_expression }}) - unix_micros({{ start_expression }}) as double) / 1000000)
{%- endmacro %}

{#- `expression`, an open end (a spell not yet exited: null) read as a timestamp after every
    other, so that `start <= t and t < open_end(end)` is a plain range condition a join can
    plan as a hash or range join (an `end is null or ...` condition makes DuckDB fall back to a
    blockwise nested loop: 4.5 s instead of 0.09 s at 100k persons, issue 17). -#}
{% macro open_end(expression) -%}
    coalesce({{ expression }}, {{ journey_warehouse.far_future_timestamp() }})
{%- endmacro %}

{#- A timestamp later than any event: 9999-12-31 on every engine (DuckDB's 'infinity' is not
    portable). -#}
{% macro far_future_timestamp() -%}
    cast('9999-12-31 23:59:59' as {{ dbt.type_timestamp() }})
{%- endmacro %}
