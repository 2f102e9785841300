{{ filedrop_staging('email_members', 'subscriber_id', [
    ('subscriber_id', 'string'), ('email', 'string'), ('status', 'lower', 'member_status'),
    ('subscribed_at', 'timestamp'), ('updated_at', 'timestamp'),
]) }}
