{#- Shopify orders and file-dropped orders (contracts §4) in one shape, test orders included
    (fct_orders leaves them out). Shopify refunds are summed from their refund transactions;
    discount codes are joined with `;` in the order Shopify lists them (file drops carry them
    that way already). -#}

with

shopify_orders as (
    select * from {{ ref('stg_shopify__orders') }}
),

shopify_refunds as (
    select
        order_id,
        sum(refund_amount) as refunded_amount
    from {{ ref('stg_shopify__refunds') }}
    group by order_id
),

shopify_discount_codes as (
    select
        order_id,
        {{ dbt.listagg('discount_code', "';'", 'order by code_index') }} as discount_codes
    from {{ ref('stg_shopify__order_discount_codes') }}
    where nullif(discount_code, '') is not null
    group by order_id
),

filedrop_orders as (
    select * from {{ ref('stg_filedrop__orders') }}
),

unioned as (
    select
        shopify_orders.order_id,
        'shopify' as source,
        shopify_orders.order_name,
        shopify_orders.shop_customer_id,
        shopify_orders.email,
        shopify_orders.created_at,
        shopify_orders.cancelled_at,
        shopify_orders.is_test,
        shopify_orders.is_cancelled,
        shopify_orders.financial_status,
        shopify_orders.currency,
        shopify_orders.total_price,
        shopify_orders.total_discounts,
        coalesce(shopify_refunds.refunded_amount, 0) as refunded_amount,
        shopify_discount_codes.discount_codes,
        shopify_orders._extracted_at
    from shopify_orders
    left join shopify_refunds
        on shopify_orders.order_id = shopify_refunds.order_id
    left join shopify_discount_codes
        on shopify_orders.order_id = shopify_discount_codes.order_id
    union all
    select
        order_id,
        'filedrop' as source,
        cast(null as {{ dbt.type_string() }}) as order_name,
        shop_customer_id,
        email,
        created_at,
        cancelled_at,
        coalesce(is_test, false) as is_test,
        cancelled_at is not null as is_cancelled,
        financial_status,
        currency,
        total_price,
        total_discounts,
        coalesce(refunded_amount, 0) as refunded_amount,
        nullif(trim(discount_codes), '') as discount_codes,
        _extracted_at
    from filedrop_orders
),

final as (
    select
        *,
        {#- The first code of the form REF-<referrer's customer id> (contracts §1.3). -#}
        nullif(trim(regexp_extract(';' || coalesce(discount_codes, '') || ';', '(?i);[ ]*(REF-[^;]+)', 1)), '')
            as referral_code
    from unioned
)

select * from final
