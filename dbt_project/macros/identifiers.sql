{#- One normalisation per identifier kind (contracts §5.4), declared once in
    config/identity.yml (`kinds.<kind>.normalise`, the `email` provider rules) and applied by
    identity's Polars code (pipelines/identity/normalise.py) and, through this macro, by every
    model that keys on an identifier (sessions by device, email recipients, referral codes).

    The declaration reaches dbt as JSON in the environment variable
    JOURNEY_IDENTIFIER_NORMALISATION (pipelines.identity.rules.normalisation_declaration; the
    pipeline sets it for every dbt invocation: pipelines/warehouse/dbt_runner.py). Steps, in
    the declared order: `trim` (Unicode white space at both ends), `lower` (Unicode lower case,
    as Polars: İ becomes i + combining dot, a word-final Σ becomes ς), `digits` (keep 0-9);
    e-mail addresses then get the provider rules (domain aliases, plus tags, dot-insensitive
    domains) when they hold exactly one "@". tests/dbt/test_identifiers.py checks that this SQL
    and the Polars code agree on awkward values. -#}

{% macro identifier_normalisation() -%}
    {%- set declared = env_var('JOURNEY_IDENTIFIER_NORMALISATION', '') -%}
    {%- if not declared -%}
        {%- if execute -%}
            {{ exceptions.raise_compiler_error(
                "JOURNEY_IDENTIFIER_NORMALISATION is not set: it carries config/identity.yml's "
                ~ "normalisation to dbt. Run dbt through the pipeline (python -m pipelines run), or set "
                ~ "it as pipelines/warehouse/dbt_runner.py:dbt_environment does.") }}
        {%- endif -%}
        {{ return({'kinds': {}, 'email': {}, 'trim_class': '[ ]'}) }}
    {%- endif -%}
    {{ return(fromjson(declared)) }}
{%- endmacro %}

{% macro normalised_identifier(kind, expression) -%}
    {%- set declaration = journey_warehouse.identifier_normalisation() -%}
    {%- if execute and kind not in declaration['kinds'] -%}
        {{ exceptions.raise_compiler_error("identifier kind " ~ kind ~ " is not declared in config/identity.yml") }}
    {%- endif -%}
    {%- set value = namespace(sql='cast(' ~ expression ~ ' as ' ~ dbt.type_string() ~ ')') -%}
    {%- for step in declaration['kinds'].get(kind, []) -%}
        {%- if step == 'trim' -%}
            {%- set blank = declaration['trim_class'] -%}
            {%- set value.sql = journey_warehouse.regexp_replace_all(
                value.sql, journey_warehouse.regex_literal('^' ~ blank ~ '+|' ~ blank ~ '+$'), "''") -%}
        {%- elif step == 'lower' -%}
            {%- set value.sql = journey_warehouse.unicode_lower(value.sql) -%}
        {%- elif step == 'digits' -%}
            {%- set value.sql = journey_warehouse.regexp_replace_all(
                value.sql, journey_warehouse.regex_literal('[^0-9]'), "''") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if kind == 'email' -%}
        {{ journey_warehouse.email_provider_rules(value.sql, declaration['email']) }}
    {%- else -%}
        {{ value.sql }}
    {%- endif -%}
{%- endmacro %}

{#- Lower case as Polars (Rust) computes it: İ (U+0130) becomes i followed by U+0307, and a
    capital sigma that ends a word (after a cased letter, not before a letter) becomes ς. -#}
{% macro unicode_lower(expression) -%}
    lower({{ journey_warehouse.final_sigma("replace(" ~ expression ~ ", 'İ', 'i̇')") }})
{%- endmacro %}

{% macro final_sigma(expression) -%}
    {{ return(adapter.dispatch('final_sigma', 'journey_warehouse')(expression)) }}
{%- endmacro %}

{% macro duckdb__final_sigma(expression) -%}
    regexp_replace({{ expression }}, {{ journey_warehouse.regex_literal(journey_warehouse.final_sigma_pattern()) }}, '\1ς\2', 'g')
{%- endmacro %}

{% macro default__final_sigma(expression) -%}
    regexp_replace({{ expression }}, {{ journey_warehouse.regex_literal(journey_warehouse.final_sigma_pattern()) }}, '$1ς$2')
{%- endmacro %}

{#- A capital sigma after a cased letter and not before a letter. -#}
{% macro final_sigma_pattern() -%}
    {{ return('([\\p{Lu}\\p{Ll}\\p{Lt}])Σ($|[^\\p{L}])') }}
{%- endmacro %}

{#- A regular expression as a SQL string literal: DuckDB keeps backslashes in literals, Spark
    reads them as escapes (so they are doubled there). -#}
{% macro regex_literal(pattern) -%}
    {{ return(adapter.dispatch('regex_literal', 'journey_warehouse')(pattern)) }}
{%- endmacro %}

{% macro duckdb__regex_literal(pattern) -%}
    '{{ pattern | replace("'", "''") }}'
{%- endmacro %}

{% macro default__regex_literal(pattern) -%}
    '{{ pattern | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{#- Replace every match of `pattern` (a SQL string literal) by `replacement` (a literal). -#}
{% macro regexp_replace_all(expression, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'journey_warehouse')(expression, pattern, replacement)) }}
{%- endmacro %}

{% macro duckdb__regexp_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, {{ pattern }}, {{ replacement }}, 'g')
{%- endmacro %}

{% macro default__regexp_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, {{ pattern }}, {{ replacement }})
{%- endmacro %}

{#- The e-mail provider rules on an already trimmed and lower-cased address (contracts §5.4):
    a domain alias replaces the domain, the plus tag is stripped (all domains, none, or a list),
    dots are dropped from the local part at dot-insensitive domains. An address without exactly
    one "@" is left as it is. -#}
{% macro email_provider_rules(expression, rules) -%}
    {%- set local = "regexp_extract(" ~ expression ~ ", '^([^@]*)@[^@]*$', 1)" -%}
    {%- set domain_raw = "regexp_extract(" ~ expression ~ ", '^[^@]*@([^@]*)$', 1)" -%}
    {%- set aliases = rules.get('domain_aliases', {}) -%}
    {%- if aliases -%}
        {%- set domain -%}
            case {{ domain_raw }}
            {%- for alias, target in aliases.items() %} when '{{ alias }}' then '{{ target }}'{% endfor %}
            else {{ domain_raw }} end
        {%- endset -%}
    {%- else -%}
        {%- set domain = domain_raw -%}
    {%- endif -%}
    {%- set plus = rules.get('strip_plus_tag', 'none') -%}
    {%- set without_tag = "regexp_replace(" ~ local ~ ", '[+].*$', '')" -%}
    {%- if plus == 'all' -%}
        {%- set local_sql = without_tag -%}
    {%- elif plus and plus != 'none' -%}
        {%- set local_sql = "case when " ~ domain ~ " in ('" ~ plus | join("', '") ~ "') then " ~ without_tag ~ " else " ~ local ~ " end" -%}
    {%- else -%}
        {%- set local_sql = local -%}
    {%- endif -%}
    {%- set dotless = rules.get('dot_insensitive_domains', []) -%}
    {%- if dotless -%}
        {%- set local_sql = "case when " ~ domain ~ " in ('" ~ dotless | join("', '") ~ "') then replace(" ~ local_sql ~ ", '.', '') else " ~ local_sql ~ " end" -%}
    {%- endif -%}
    case
        when {{ journey_warehouse.regex_contains(expression, "'^[^@]*@[^@]*$'") }}
            then {{ local_sql }} || '@' || {{ domain }}
        else {{ expression }}
    end
{%- endmacro %}
