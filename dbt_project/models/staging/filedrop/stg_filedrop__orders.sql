{{ filedrop_staging('orders', 'order_id', [
    ('order_id', 'string'), ('customer_id', 'string', 'shop_customer_id'), ('email', 'string'),
    ('created_at', 'timestamp'), ('updated_at', 'timestamp'), ('cancelled_at', 'timestamp'),
    ('financial_status', 'lower'), ('is_test', 'boolean'), ('currency', 'string'),
    ('total_price', 'decimal'), ('total_discounts', 'decimal'), ('refunded_amount', 'decimal'),
    ('discount_codes', 'string'), ('landing_url', 'string'), ('referring_url', 'string'),
]) }}
