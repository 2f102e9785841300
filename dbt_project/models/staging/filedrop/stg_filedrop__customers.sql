{{ filedrop_staging('customers', 'shop_customer_id', [
    ('customer_id', 'string', 'shop_customer_id'), ('email', 'string'), ('phone', 'string'),
    ('created_at', 'timestamp'), ('updated_at', 'timestamp'),
]) }}
