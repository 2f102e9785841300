{{ filedrop_staging('tickets', 'ticket_id', [
    ('ticket_id', 'string'), ('requester_id', 'string'), ('requester_email', 'string'),
    ('created_at', 'timestamp'), ('updated_at', 'timestamp'), ('status', 'lower', 'ticket_status'),
    ('channel', 'lower', 'via_channel'), ('first_reply_minutes', 'decimal'), ('full_resolution_minutes', 'decimal'),
    ('reopens', 'integer'), ('solved_at', 'timestamp'),
]) }}
