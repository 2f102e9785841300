{#- On Spark, a source is a catalog table: before a build, every source the selected nodes read
    is registered as an external Parquet table over its landing folder (or identity file), the
    path taken from the source's `external_location` (the DuckDB `read_parquet(...)` of the
    same files). Called from `on-run-start`; DuckDB reads `external_location` directly. -#}
{% macro register_external_sources() -%}
    {{ return(adapter.dispatch('register_external_sources', 'journey_warehouse')()) }}
{%- endmacro %}

{% macro default__register_external_sources() -%}
    {{ return('') }}
{%- endmacro %}

{% macro spark__register_external_sources() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set wanted = [] -%}
    {%- for unique_id in selected_resources -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- if node is not none -%}
            {%- for parent in node.depends_on.nodes if parent.startswith('source.') and parent not in wanted -%}
                {%- do wanted.append(parent) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for unique_id in wanted -%}
        {%- set source_node = graph.sources[unique_id] -%}
        {%- set location = journey_warehouse.spark_source_location(source_node) -%}
        {%- set relation = source_node.schema ~ '.' ~ source_node.identifier -%}
        {%- set columns = journey_warehouse.spark_source_columns(source_node) -%}
        {%- do run_query('create schema if not exists ' ~ source_node.schema) -%}
        {%- do run_query('drop table if exists ' ~ relation) -%}
        {%- do run_query(
            'create table ' ~ relation ~ (' (' ~ columns ~ ')' if columns else '')
            ~ " using parquet options (recursiveFileLookup 'true', mergeSchema 'true') location '"
            ~ location ~ "'") -%}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}

{#- The folder (or file) a source's `external_location` reads: `read_parquet('<dir>/**/*.parquet', ...)`
    gives `<dir>`, `read_parquet('<dir>/{name}.parquet')` the file. -#}
{% macro spark_source_location(source_node) -%}
    {%- set external = source_node.meta.get('external_location') or source_node.source_meta.get('external_location') -%}
    {%- set path = modules.re.search("read_parquet\\('([^']*)'", external).group(1) -%}
    {%- set path = path.replace('{name}', source_node.name) -%}
    {%- if path.endswith('/**/*.parquet') -%}
        {%- set path = path[:-13] -%}
    {%- endif -%}
    {{ return(path) }}
{%- endmacro %}

{#- The columns of a landed stream or of the quarantine (contracts §3; LANDING_SCHEMA and
    QUARANTINE_SCHEMA in pipelines/extract/landing.py), given rather than inferred: Spark skips
    files whose name starts with `_`, so a stream folder holding only its zero-row
    `_schema.parquet` would have no schema to infer. The identity files are inferred. -#}
{% macro spark_source_columns(source_node) -%}
    {%- set lineage = '_source string, _stream string, _run_id string, _extracted_at timestamp, _record_hash string' -%}
    {%- if source_node.source_name == 'quarantine' -%}
        {{ return(lineage ~ ', record string, reason string') }}
    {%- elif source_node.source_name == 'identity' -%}
        {{ return(none) }}
    {%- else -%}
        {{ return(lineage ~ ', _unknown_fields array<string>, record_id string, record_updated_at timestamp, record string') }}
    {%- endif -%}
{%- endmacro %}
