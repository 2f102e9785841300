{#- The calendar day of a UTC timestamp in the business's reporting time zone (dbt var
    `reporting_timezone`, fed by JOURNEY_SCHEDULE_TIMEZONE, default UTC: the zone whose days
    the nightly schedule's partitions are). Marts publish it as `<event>_local_date` beside the
    UTC `<event>_at`, so that analysts who count per day count the business's days. -#}
{% macro local_date(utc_timestamp) -%}
    {{ return(adapter.dispatch('local_date', 'journey_warehouse')(utc_timestamp, journey_warehouse.reporting_timezone())) }}
{%- endmacro %}

{#- The zone as a SQL string literal; a name that is not an IANA zone name fails the compile. -#}
{% macro reporting_timezone() -%}
    {%- set zone = var('reporting_timezone') | string | trim -%}
    {%- if not modules.re.fullmatch('[A-Za-z][A-Za-z0-9_+/-]*', zone) -%}
        {{ exceptions.raise_compiler_error(
            "dbt var reporting_timezone (JOURNEY_SCHEDULE_TIMEZONE) must be an IANA time zone "
            ~ "like Europe/Berlin or UTC, got '" ~ zone ~ "'") }}
    {%- endif -%}
    {{ return("'" ~ zone ~ "'") }}
{%- endmacro %}

{#- DuckDB (ICU): the naive UTC timestamp read as UTC, then its wall clock in the zone. -#}
{% macro duckdb__local_date(utc_timestamp, zone) -%}
    cast(timezone({{ zone }}, timezone('UTC', {{ utc_timestamp }})) as date)
{%- endmacro %}

{#- Spark: from_utc_timestamp gives the zone's wall clock of a UTC timestamp. -#}
{% macro default__local_date(utc_timestamp, zone) -%}
    cast(from_utc_timestamp({{ utc_timestamp }}, {{ zone }}) as date)
{%- endmacro %}
