{#- Vendor money, typed once: a decimal string (Shopify sends "49.90"; an older payload's JSON
    number arrives as its text) cast to an exact decimal with three places, enough for every
    currency Shopify supports (BHD, KWD, OMR, JOD, TND have three minor units). A value that is
    not a number is null: landing quarantines records whose top-level amounts are not numbers,
    and a nested one that is not makes the order miss Shopify's arithmetic (a blocking check).
    Use `money_amount(plain, money_set)` to read a Shopify amount from its plain field, else
    from the shop-currency side of its `*_set` bag. -#}
{% macro money_amount(expression, money_set=none) -%}
    {#- a blank plain amount is absent (as landing judges it): the `*_set` bag's then counts -#}
    {%- set value = expression if money_set is none
        else 'coalesce(nullif(trim(' ~ expression ~ "), ''), " ~ money_set ~ '.shop_money.amount)' -%}
    {{ return(adapter.dispatch('money_amount', 'journey_warehouse')(value)) }}
{%- endmacro %}

{% macro duckdb__money_amount(value) -%}
    try_cast({{ value }} as decimal(18, 3))
{%- endmacro %}

{#- Spark (ANSI mode off, its default) and most engines: a cast that fails is null. -#}
{% macro default__money_amount(value) -%}
    {{ dbt.safe_cast(value, 'decimal(18, 3)') }}
{%- endmacro %}

{#- Per row of `relation` (key column `key`), the sum of an amount over the items of a list
    column: `select key, sum(money_amount(item.<amount>, item.<amount>_set)) as <alias> ... group
    by key`, a subquery for a left join (rows with an empty list have no row). `amount` is the
    item's field; `money_set` its `*_set` field, if any; `count_alias` adds the item count. -#}
{% macro summed_list_amounts(relation, key, list_column, amount, alias, money_set=none, count_alias=none) -%}
    select
        {{ relation }}.{{ key }},
        sum({{ journey_warehouse.money_amount('list_item.' ~ amount,
                                              ('list_item.' ~ money_set) if money_set else none) }}) as {{ alias }}
        {%- if count_alias %},
        count(*) as {{ count_alias }}
        {%- endif %}
    from {{ relation }}
    {{ journey_warehouse.unnest_with_index(relation ~ '.' ~ list_column, 'list_item', 'list_item_index') }}
    group by {{ relation }}.{{ key }}
{%- endmacro %}

{#- Published money: an exact decimal that fits in 64 bits (DECIMAL(18, s), which every BI tool
    and driver reads as a number; DECIMAL(38, s) is text or a float in several, DOUBLE is
    inexact), with `money_scale` places (var; 2 by default, 3 for a shop in BHD, KWD, OMR, JOD
    or TND). Every table with a money column has a currency column beside it. -#}
{% macro money(expression) -%}
    cast({{ expression }} as {{ journey_warehouse.type_money() }})
{%- endmacro %}

{% macro type_money() -%}
    decimal(18, {{ var('money_scale') }})
{%- endmacro %}
