"""Write a generated dataset's vendor records as canonical file drops (contracts §4).

Test code: it turns what Matomo, Mailchimp, Shopify and Zendesk would serve at the end of the
period (the latest version of every record, contracts §2) into the CSV / NDJSON files a business
without those connectors would drop, so the warehouse can be built from file drops alone and
compared with the same ground truth. The dataset's own drops (NPS, reviews, spend) are copied.

Readings, where the vendor data says more or less than a file drop can:
* web_pageviews: one row per Matomo action that is session activity (goals, ecommerce orders
  and abandoned carts are not tracked rows): page views as page views, every other type as an
  event on its page (category `event`'s own, else the Matomo type: `search` with the keyword
  as action, `download` / `outlink` with the target as name), since a page-view export has no
  action types. So site searches and downloads keep sessions alive on this path but are no
  `site_search` / `download` touchpoints: the drop path's truth leaves those touchpoints out
  (tests/dbt/conftest.py, phases recomputed without them). A page-view export carries no browser, so visits the browser half of the bot
  rule marks (seed `bot_browsers`) are left out, as a tool with bot filtering would; crawlers
  stay, for the activity rule to catch. `referrer_url` is the visit's referrer on its first row
  and the previous row's URL (an internal referrer) after it, as page-view exports give it.
  `pageview_id` is `<idVisit, 10 digits>-<position, 4 digits>`, so its order is Matomo's.
* email: `subscriber_id` is Mailchimp's `unique_email_id` (the `mc_eid` of tracked links).
  Mailchimp gives no per-recipient send time for automation emails and tests' winners, so only
  the deliveries of campaigns sent in one go (regular, plain-text, RSS) become `sent` events
  (at the campaign's send time); a bounce is the
  activity bounce (a soft/hard send status has one too).
* orders: refunds summed from successful refund transactions, discount codes joined with `;`.
* tickets: the latest metric set's calendar minutes; `requester_email` the requester's
  Zendesk user email; a ticket a merge closed (tag `closed_by_merge`) has status `merged`, a
  deleted one keeps status `deleted` (contracts §4).

`write_drops` returns the record map: per dropped record (`drop_stream, drop_record_id`) the
vendor record it came from (`source, stream, record_id`), the keys of the ground truth.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl

from pipelines.settings import DBT_PROJECT_DIR

ISO_Z = "%Y-%m-%dT%H:%M:%SZ"
CSV_STREAMS = ("email_members", "email_events", "orders", "customers", "checkouts", "tickets")
NDJSON_STREAMS = ("web_pageviews", "satisfaction_ratings")
COPIED_STREAMS = ("nps_responses", "reviews", "marketing_spend")

ACTION_TYPE = (
    '[{"type": "VARCHAR", "url": "VARCHAR", "pageTitle": "VARCHAR", "timestamp": "DOUBLE", '
    '"eventCategory": "VARCHAR", "eventAction": "VARCHAR", "eventName": "VARCHAR", '
    '"siteSearchKeyword": "VARCHAR"}]'
)
CONVERSIONS = "('goal', 'ecommerceOrder', 'ecommerceAbandonedCart')"
SENT_AT_SEND_TIME = "('regular', 'plaintext', 'rss')"  # seed email_campaign_types
ACTIVITY_TYPE = '[{"action": "VARCHAR", "timestamp": "VARCHAR", "url": "VARCHAR"}]'
REFUNDS_TYPE = '[{"transactions": [{"amount": "VARCHAR", "kind": "VARCHAR", "status": "VARCHAR"}]}]'
CODES_TYPE = '[{"code": "VARCHAR"}]'

STREAM_SQL = {
    "web_pageviews": f"""
        with actions as (
            select
                visits.record_id as visit_id,
                visits.record ->> 'visitorId' as visitor_id,
                visits.record ->> 'userId' as user_id,
                visits.record ->> 'referrerUrl' as visit_referrer_url,
                action.type as action_type,
                action,
                position
            from latest_matomo_visits as visits,
                unnest(from_json(visits.record -> 'actionDetails', '{ACTION_TYPE}'))
                    with ordinality as actions (action, position)
            where lower(trim(visits.record ->> 'browserName')) not in (select browser_name from bot_browsers)
        ),
        rows as (
            select
                *,
                row_number() over (partition by visit_id order by position) as row_in_visit,
                last_value(case when action_type = 'action' then action.url end ignore nulls) over (
                    partition by visit_id order by position rows between unbounded preceding and current row
                ) as page_url
            from actions
            where action_type not in {CONVERSIONS}
        )
        select
            lpad(visit_id, 10, '0') || '-' || lpad(cast(position as varchar), 4, '0') as pageview_id,
            visitor_id,
            user_id,
            strftime(make_timestamp(cast(action.timestamp * 1000000 as bigint)), '{ISO_Z}') as occurred_at,
            case when action_type = 'action' then action.url else page_url end as url,
            action.pageTitle as page_title,
            case
                when row_in_visit = 1 then visit_referrer_url
                else lag(page_url) over (partition by visit_id order by position)
            end as referrer_url,
            case when action_type = 'action' then null
                 when action_type = 'event' then action.eventCategory
                 else action_type end as event_category,
            case when action_type = 'search' then action.siteSearchKeyword
                 else action.eventAction end as event_action,
            case when action_type in ('download', 'outlink') then action.url
                 else action.eventName end as event_name,
            'matomo' as source, 'visits' as stream, visit_id as record_id
        from rows
    """,
    "email_members": """
        select
            record ->> 'unique_email_id' as subscriber_id,
            record ->> 'email_address' as email,
            record ->> 'status' as status,
            coalesce(nullif(record ->> 'timestamp_opt', ''), nullif(record ->> 'timestamp_signup', ''))
                as subscribed_at,
            record ->> 'last_changed' as updated_at,
            'mailchimp' as source, 'members' as stream, record_id
        from latest_mailchimp_members
    """,
    "email_events": f"""
        with campaigns as (
            select record_id as campaign_id, record ->> 'campaign_title' as campaign_name,
                   record ->> 'type' as campaign_type, record ->> 'send_time' as send_time
            from latest_mailchimp_campaigns
        ),
        members as (
            select record_id as email_id, record ->> 'unique_email_id' as subscriber_id
            from latest_mailchimp_members
        ),
        recipients as (
            select record_id, 'sent_to' as stream, record ->> 'campaign_id' as campaign_id,
                   record ->> 'email_id' as email_id, record ->> 'email_address' as email,
                   'sent' as event_type, campaigns.send_time as occurred_at, null as url,
                   'sent:' || record_id as event_id
            from latest_mailchimp_sent_to
            inner join campaigns on record ->> 'campaign_id' = campaigns.campaign_id
            where record ->> 'status' = 'sent' and campaigns.campaign_type in {SENT_AT_SEND_TIME}
        ),
        activity as (
            select distinct record_id, record ->> 'campaign_id' as campaign_id,
                   record ->> 'email_id' as email_id, record ->> 'email_address' as email,
                   event.action as event_type, event.timestamp as occurred_at, event.url
            from latest_mailchimp_email_activity,
                unnest(from_json(record -> 'activity', '{ACTIVITY_TYPE}')) as events (event)
        ),
        events as (
            select * from recipients
            union all by name
            select record_id, 'email_activity' as stream, campaign_id, email_id, email, event_type,
                   occurred_at, url,
                   record_id || ':' || event_type || ':' || row_number() over (
                       partition by record_id, event_type order by occurred_at, url
                   ) as event_id
            from activity
            union all by name
            select record_id, 'unsubscribes' as stream, record ->> 'campaign_id' as campaign_id,
                   record ->> 'email_id' as email_id, record ->> 'email_address' as email,
                   'unsubscribe' as event_type, record ->> 'timestamp' as occurred_at, null as url,
                   'unsubscribe:' || record_id as event_id
            from latest_mailchimp_unsubscribes
        )
        select
            events.event_id, events.campaign_id, campaigns.campaign_name, members.subscriber_id,
            events.email, events.event_type, events.occurred_at, events.url,
            'mailchimp' as source, events.stream, events.record_id
        from events
        left join campaigns on events.campaign_id = campaigns.campaign_id
        left join members on events.email_id = members.email_id
    """,
    "orders": f"""
        select
            record_id as order_id,
            record -> 'customer' ->> 'id' as customer_id,
            record ->> 'email' as email,
            record ->> 'created_at' as created_at,
            record ->> 'updated_at' as updated_at,
            record ->> 'cancelled_at' as cancelled_at,
            record ->> 'financial_status' as financial_status,
            record ->> 'test' as is_test,
            record ->> 'currency' as currency,
            record ->> 'total_price' as total_price,
            record ->> 'total_discounts' as total_discounts,
            cast(coalesce(list_sum(flatten(list_transform(
                from_json(record -> 'refunds', '{REFUNDS_TYPE}'),
                lambda refund: list_transform(
                    list_filter(refund.transactions, lambda t: t.kind = 'refund' and t.status = 'success'),
                    lambda t: cast(t.amount as decimal(18, 2)))
            ))), 0) as decimal(18, 2)) as refunded_amount,
            nullif(array_to_string(list_transform(
                from_json(record -> 'discount_codes', '{CODES_TYPE}'), lambda d: d.code), ';'
            ), '') as discount_codes,
            record ->> 'landing_site' as landing_url,
            record ->> 'referring_site' as referring_url,
            'shopify' as source, 'orders' as stream, record_id
        from latest_shopify_orders
    """,
    "customers": """
        select
            record_id as customer_id, record ->> 'email' as email, record ->> 'phone' as phone,
            record ->> 'created_at' as created_at, record ->> 'updated_at' as updated_at,
            'shopify' as source, 'customers' as stream, record_id
        from latest_shopify_customers
    """,
    "checkouts": """
        select
            record_id as checkout_id, record ->> 'token' as checkout_token,
            record -> 'customer' ->> 'id' as customer_id, record ->> 'email' as email,
            record ->> 'created_at' as created_at, record ->> 'updated_at' as updated_at,
            record ->> 'completed_at' as completed_at, record ->> 'total_price' as total_price,
            record ->> 'currency' as currency,
            'shopify' as source, 'checkouts' as stream, record_id
        from latest_shopify_checkouts
    """,
    "tickets": """
        with metrics as (
            select record ->> 'ticket_id' as ticket_id, record as metric
            from latest_zendesk_ticket_metrics
            qualify row_number() over (
                partition by record ->> 'ticket_id' order by record ->> 'updated_at' desc, record_id desc
            ) = 1
        ),
        users as (
            select record_id as user_id, record ->> 'email' as email from latest_zendesk_users
        )
        select
            tickets.record_id as ticket_id,
            tickets.record ->> 'requester_id' as requester_id,
            users.email as requester_email,
            tickets.record ->> 'created_at' as created_at,
            tickets.record ->> 'updated_at' as updated_at,
            case
                when list_contains(from_json(tickets.record -> 'tags', '["VARCHAR"]'), 'closed_by_merge')
                    then 'merged'
                else tickets.record ->> 'status'
            end as status,
            tickets.record -> 'via' ->> 'channel' as channel,
            metrics.metric -> 'reply_time_in_minutes' ->> 'calendar' as first_reply_minutes,
            metrics.metric -> 'full_resolution_time_in_minutes' ->> 'calendar' as full_resolution_minutes,
            metrics.metric ->> 'reopens' as reopens,
            metrics.metric ->> 'solved_at' as solved_at,
            'zendesk' as source, 'tickets' as stream, tickets.record_id
        from latest_zendesk_tickets as tickets
        left join metrics on tickets.record_id = metrics.ticket_id
        left join users on tickets.record ->> 'requester_id' = users.user_id
    """,
    "satisfaction_ratings": """
        select
            record_id as rating_id, record ->> 'ticket_id' as ticket_id,
            record ->> 'requester_id' as requester_id, record ->> 'score' as score,
            record ->> 'created_at' as created_at, record ->> 'updated_at' as updated_at,
            'zendesk' as source, 'satisfaction_ratings' as stream, record_id
        from latest_zendesk_satisfaction_ratings
    """,
}
KEY_COLUMN = {
    "web_pageviews": "pageview_id",
    "email_members": "subscriber_id",
    "email_events": "event_id",
    "orders": "order_id",
    "customers": "customer_id",
    "checkouts": "checkout_id",
    "tickets": "ticket_id",
    "satisfaction_ratings": "rating_id",
}
COPIED_KEY = {"nps_responses": "response_id", "reviews": "review_id"}
MAP_COLUMNS = ("drop_stream", "drop_record_id", "source", "stream", "record_id")


def write_drops(dataset: Path, drop_dir: Path) -> pl.DataFrame:
    """Write `dataset`'s vendor records as file drops under `drop_dir/<stream>/`; return the
    record map (`drop_stream, drop_record_id, source, stream, record_id`)."""
    drop_dir.mkdir(parents=True, exist_ok=True)
    maps = []
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        for vendor_file in sorted((dataset / "vendor").glob("*/*.parquet")):
            con.execute(
                f"""create table latest_{vendor_file.parent.name}_{vendor_file.stem} as
                    select record_id, record::json as record from read_parquet(?)
                    qualify row_number() over (partition by record_id order by updated_at desc) = 1""",
                [str(vendor_file)],
            )
        seed = DBT_PROJECT_DIR / "seeds" / "bot_browsers.csv"
        con.execute(
            "create table bot_browsers as select lower(trim(browser_name)) as browser_name "
            "from read_csv(?, header = true, all_varchar = true)",
            [str(seed)],
        )
        for stream, sql in STREAM_SQL.items():
            con.execute(f"create table drop_{stream} as {sql}")
            folder = drop_dir / stream
            folder.mkdir(exist_ok=True)
            data = f"(select * exclude (source, stream, record_id) from drop_{stream})"
            if stream in CSV_STREAMS:
                con.execute(
                    f"copy {data} to '{folder / (stream + '.csv')}' (header, delimiter ',')"
                )
            else:
                con.execute(f"copy {data} to '{folder / (stream + '.ndjson')}' (format json)")
            maps.append(
                con.sql(
                    f"""select '{stream}' as drop_stream, {KEY_COLUMN[stream]} as drop_record_id,
                               source, stream, record_id from drop_{stream}"""
                ).pl()
            )
    for stream in COPIED_STREAMS:
        shutil.copytree(dataset / "drop" / stream, drop_dir / stream, dirs_exist_ok=True)
        if stream in COPIED_KEY:
            keys = pl.read_csv(
                drop_dir / stream / "*.csv", columns=[COPIED_KEY[stream]]
            ).to_series()
            maps.append(
                pl.DataFrame({"drop_record_id": keys.cast(pl.String)}).select(
                    drop_stream=pl.lit(stream),
                    drop_record_id="drop_record_id",
                    source=pl.lit("filedrop"),
                    stream=pl.lit(stream),
                    record_id="drop_record_id",
                )
            )
    return pl.concat([m.select(MAP_COLUMNS) for m in maps])
