{#- Shopify orders and file-dropped orders (contracts §4) in one shape, test orders included
    (fct_orders leaves them out). A Shopify order brings the parts of its total
    (int_shopify_orders_reconciled); a file drop carries only its total and discounts. Shopify
    refunds are the money their successful refund transactions gave back, in the shop currency:
    a refund paid in another currency (the presentment currency) is converted at the order's
    own rate, total_price / presentment total. Discount codes are joined with `;` in the order
    Shopify lists them (file drops carry them that way already). -#}

with

shopify_orders as (
    select
        orders.*,
        reconciled.shipping_price as reconciled_shipping_price,
        reconciled.total_tip_received as reconciled_tip_received,
        reconciled.total_duties as reconciled_duties,
        reconciled.total_additional_fees as reconciled_additional_fees
    from {{ ref('stg_shopify__orders') }} as orders
    left join {{ ref('int_shopify_orders_reconciled') }} as reconciled
        on orders.order_id = reconciled.order_id
),

shopify_refunds as (
    select
        refunds.order_id,
        sum(
            case
                when refunds.refund_currency is null or refunds.refund_currency = orders.currency
                    then refunds.refund_amount
                else cast(
                    refunds.refund_amount * orders.total_price / nullif(orders.presentment_total_price, 0)
                    as decimal(18, 3)
                )
            end
        ) as refunded_amount
    from {{ ref('stg_shopify__refunds') }} as refunds
    inner join shopify_orders as orders
        on refunds.order_id = orders.order_id
    group by refunds.order_id
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
        shopify_orders.presentment_currency,
        shopify_orders.presentment_total_price,
        shopify_orders.is_taxes_included,
        shopify_orders.subtotal_price,
        shopify_orders.total_discounts,
        shopify_orders.reconciled_shipping_price as shipping_price,
        shopify_orders.total_tax,
        shopify_orders.reconciled_tip_received as total_tip_received,
        shopify_orders.reconciled_duties as total_duties,
        shopify_orders.reconciled_additional_fees as total_additional_fees,
        shopify_orders.total_price,
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
        cast(null as {{ dbt.type_string() }}) as presentment_currency,
        cast(null as decimal(18, 3)) as presentment_total_price,
        cast(null as boolean) as is_taxes_included,
        cast(null as decimal(18, 3)) as subtotal_price,
        total_discounts,
        cast(null as decimal(18, 3)) as shipping_price,
        cast(null as decimal(18, 3)) as total_tax,
        cast(null as decimal(18, 3)) as total_tip_received,
        cast(null as decimal(18, 3)) as total_duties,
        cast(null as decimal(18, 3)) as total_additional_fees,
        total_price,
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
