{{ filedrop_staging('checkouts', 'checkout_id', [
    ('checkout_id', 'string'), ('checkout_token', 'string'), ('customer_id', 'string', 'shop_customer_id'),
    ('email', 'string'), ('created_at', 'timestamp'), ('updated_at', 'timestamp'), ('completed_at', 'timestamp'),
    ('total_price', 'decimal'), ('currency', 'string'),
]) }}
