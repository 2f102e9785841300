{#- The money a refund gave back is the sum of its successful refund transactions (a failed or
    pending attempt moved nothing), in the transactions' currency (contracts §1.3).

    Incremental (issue 17): the orders with a version landed after the watermark have all their
    refunds replaced (group_replace_config on order_id). An order only gains refunds, so a new
    version never leaves refunds of an older one behind. -#}
{{ config(**group_replace_config(['order_id'])) }}

with

parsed as (
    {{ parsed_landed_records('shopify', 'orders', stream_structure('shopify', 'orders'), 'shop_order') }}
),

refunds as (
    select
        {{ surrogate_key(['parsed.record_id', 'refund_index']) }} as order_refund_key,
        parsed.record_id as order_id,
        refund.id as refund_id,
        refund_index,
        {{ iso_to_utc_timestamp('refund.created_at') }} as refunded_at,
        refund.transactions,
        refund.refund_line_items,
        refund.order_adjustments,
        parsed._extracted_at
    from parsed
    {{ unnest_with_index('parsed.shop_order.refunds', 'refund', 'refund_index') }}
),

transactions as (
    select
        refunds.refund_id,
        refunds.order_id,
        {{ money_amount('refund_transaction.amount') }} as amount,
        lower(refund_transaction.kind) as transaction_kind,
        lower(coalesce(refund_transaction.status, 'success')) as transaction_status,
        upper(refund_transaction.currency) as currency
    from refunds
    {{ unnest_with_index('refunds.transactions', 'refund_transaction', 'transaction_index') }}
),

refund_amounts as (
    select
        order_id,
        refund_id,
        sum(
            case when transaction_kind = 'refund' and transaction_status = 'success' then amount else 0 end
        ) as refund_amount,
        max(case when transaction_kind = 'refund' and transaction_status = 'success' then currency end)
            as refund_currency,
        count(distinct case when transaction_kind = 'refund' and transaction_status = 'success' then currency end)
            as refund_currency_count,
        count(*) as transaction_count,
        sum(case when transaction_status <> 'success' then 1 else 0 end) as unsuccessful_transaction_count
    from transactions
    group by order_id, refund_id
),

line_items as (
    select
        refunds.order_id,
        refunds.refund_id,
        count(*) as refund_line_item_count
    from refunds
    {{ unnest_with_index('refunds.refund_line_items', 'refund_line_item', 'refund_line_item_index') }}
    group by refunds.order_id, refunds.refund_id
),

adjustments as (
    {{ summed_list_amounts('refunds', 'order_refund_key', 'order_adjustments', 'amount',
                           'order_adjustment_amount', money_set='amount_set') }}
),

final as (
    select
        refunds.refund_id,
        refunds.order_id,
        cast(refunds.refund_index as integer) as refund_index,
        refunds.refunded_at,
        coalesce(refund_amounts.refund_amount, 0) as refund_amount,
        refund_amounts.refund_currency,
        coalesce(refund_amounts.refund_currency_count, 0) as refund_currency_count,
        coalesce(refund_amounts.transaction_count, 0) as transaction_count,
        coalesce(refund_amounts.unsuccessful_transaction_count, 0) as unsuccessful_transaction_count,
        coalesce(line_items.refund_line_item_count, 0) as refund_line_item_count,
        coalesce(adjustments.order_adjustment_amount, 0) as order_adjustment_amount,
        refunds._extracted_at{{ group_bucket_column(['order_id'], 'refunds') }}  -- noqa: LT02
    from refunds
    left join refund_amounts
        on
            refunds.order_id = refund_amounts.order_id
            and refunds.refund_id = refund_amounts.refund_id
    left join line_items
        on
            refunds.order_id = line_items.order_id
            and refunds.refund_id = line_items.refund_id
    left join adjustments
        on refunds.order_refund_key = adjustments.order_refund_key
)

select * from final
