{%- set order_structure = {
    'id': 'string',
    'refunds': [{'id': 'string', 'created_at': 'string',
                 'transactions': [{'amount': 'string', 'kind': 'string'}]}],
} -%}

with

parsed as (
    {{ parsed_landed_records('shopify', 'orders', order_structure, 'shop_order') }}
),

refunds as (
    select
        parsed.record_id as order_id,
        refund.id as refund_id,
        refund_index,
        {{ iso_to_utc_timestamp('refund.created_at') }} as refunded_at,
        refund.transactions,
        parsed._extracted_at
    from parsed
    {{ unnest_with_index('parsed.shop_order.refunds', 'refund', 'refund_index') }}
),

transactions as (
    select
        refunds.refund_id,
        refunds.order_id,
        {{ dbt.safe_cast('refund_transaction.amount', 'decimal(18, 2)') }} as amount,
        lower(refund_transaction.kind) as transaction_kind
    from refunds
    {{ unnest_with_index('refunds.transactions', 'refund_transaction', 'transaction_index') }}
),

refund_amounts as (
    select
        order_id,
        refund_id,
        sum(case when transaction_kind = 'refund' then amount else 0 end) as refund_amount,
        count(*) as transaction_count
    from transactions
    group by order_id, refund_id
),

final as (
    select
        refunds.refund_id,
        refunds.order_id,
        cast(refunds.refund_index as integer) as refund_index,
        refunds.refunded_at,
        coalesce(refund_amounts.refund_amount, 0) as refund_amount,
        coalesce(refund_amounts.transaction_count, 0) as transaction_count,
        refunds._extracted_at
    from refunds
    left join refund_amounts
        on
            refunds.order_id = refund_amounts.order_id
            and refunds.refund_id = refund_amounts.refund_id
)

select * from final
