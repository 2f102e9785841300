{{ filedrop_staging('nps_responses', 'nps_response_id', [
    ('response_id', 'string', 'nps_response_id'), ('email', 'string'), ('score', 'integer', 'nps_score'),
    ('comment', 'string', 'response_comment'), ('responded_at', 'timestamp'),
]) }}
