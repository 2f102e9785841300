{{ filedrop_staging('reviews', 'review_id', [
    ('review_id', 'string'), ('email', 'string'), ('rating', 'integer', 'review_rating'),
    ('title', 'string', 'review_title'), ('reviewed_at', 'timestamp'), ('product_id', 'string'),
]) }}
