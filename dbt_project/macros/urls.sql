{#- URL helpers, written with functions DuckDB, Spark and Trino share (regexp_extract). -#}

{#- The decoded value of query parameter `name`, null when absent or empty. -#}
{% macro url_parameter(url_expression, name) -%}
    {{ return(adapter.dispatch('url_parameter', 'journey_warehouse')(url_expression, name)) }}
{%- endmacro %}

{#- Spark's url_decode is form decoding ('+' is a space); DuckDB's and the URL's own keep '+'. -#}
{% macro spark__url_parameter(url_expression, name) -%}
    url_decode(replace({{ journey_warehouse.url_parameter_raw(url_expression, name) }}, '+', '%2B'))
{%- endmacro %}

{% macro default__url_parameter(url_expression, name) -%}
    url_decode({{ journey_warehouse.url_parameter_raw(url_expression, name) }})
{%- endmacro %}

{#- The raw (still percent-encoded) value of query parameter `name`, null when absent or empty. -#}
{% macro url_parameter_raw(url_expression, name) -%}
    nullif(regexp_extract({{ url_expression }}, '[?&]{{ name }}=([^&#]*)', 1), '')
{%- endmacro %}

{#- The path of a URL or of a path+query ("/products/x?utm_source=a" -> "/products/x"). -#}
{% macro url_path(url_expression) -%}
    regexp_extract({{ url_expression }}, '^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?([^?#]*)', 1)
{%- endmacro %}

{#- The lower-cased host of an absolute URL, without a leading "www." ("https://www.Google.com/x" -> "google.com"). -#}
{% macro url_host(url_expression) -%}
    nullif(regexp_extract(lower({{ url_expression }}), '^[a-z][a-z0-9+.-]*://(?:www\.)?([^/?#:]*)', 1), '')
{%- endmacro %}
