{{ filedrop_staging('web_pageviews', 'pageview_id', [
    ('pageview_id', 'string'), ('visitor_id', 'string', 'web_visitor_id'), ('user_id', 'string', 'web_user_id'),
    ('occurred_at', 'timestamp'), ('url', 'string'), ('page_title', 'string'), ('referrer_url', 'string'),
    ('event_category', 'string'), ('event_action', 'string'), ('event_name', 'string'),
]) }}
