{{ filedrop_staging('marketing_spend', 'marketing_spend_id', [
    ('spend_date', 'date'), ('channel', 'string'), ('source', 'lower', 'traffic_source'),
    ('medium', 'lower', 'traffic_medium'), ('campaign', 'string'), ('spend', 'decimal', 'spend_amount'),
    ('currency', 'string'),
]) }}
