{#- True when at least one file matches the quarantine source's glob. The quarantine folder,
    unlike landing, has no `_schema.parquet`, and reading an empty glob is an error. -#}
{% macro quarantine_has_files() -%}
    {{ return(adapter.dispatch('quarantine_has_files', 'journey_warehouse')()) }}
{%- endmacro %}

{% macro duckdb__quarantine_has_files() -%}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set pattern = journey_warehouse.quarantine_dir() ~ '/**/*.parquet' -%}
    {%- set result = run_query("select count(*) from glob('" ~ pattern ~ "')") -%}
    {{ return(result.columns[0].values()[0] > 0) }}
{%- endmacro %}

{% macro default__quarantine_has_files() -%}
    {{ return(true) }}
{%- endmacro %}

{#- JOURNEY_QUARANTINE_DIR, by default the `quarantine` folder beside the landing folder. -#}
{% macro quarantine_dir() -%}
    {{ return(env_var('JOURNEY_QUARANTINE_DIR', env_var('JOURNEY_LANDING_DIR') ~ '/../quarantine')) }}
{%- endmacro %}
