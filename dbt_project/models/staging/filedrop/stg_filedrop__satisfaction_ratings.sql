{{ filedrop_staging('satisfaction_ratings', 'satisfaction_rating_id', [
    ('rating_id', 'string', 'satisfaction_rating_id'), ('ticket_id', 'string'), ('requester_id', 'string'),
    ('score', 'lower', 'satisfaction_score'), ('created_at', 'timestamp'), ('updated_at', 'timestamp'),
]) }}
