{{ filedrop_staging('email_events', 'email_event_id', [
    ('event_id', 'string', 'email_event_id'), ('campaign_id', 'string'), ('campaign_name', 'string'),
    ('subscriber_id', 'string'), ('email', 'string'), ('event_type', 'lower'), ('occurred_at', 'timestamp'),
    ('url', 'string'),
]) }}
