"""A small hand-written vendor dataset in the generator's format (docs/contracts.md §2).

Every vendor stream gets a few records in the shapes of contracts §1, with the traps the real
dataset has: several versions of a record, an exact duplicate row (served twice), timestamps in
each vendor's format. `build_dataset(root)` writes it and returns `root`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 31, 12, tzinfo=UTC)
LIST_ID = "list0001"
SITE_ID = 1


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return START + timedelta(days=day - 1, hours=hour, minutes=minute)


def mailchimp_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def shopify_time(moment: datetime) -> str:
    return (moment - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S-05:00")


def zendesk_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def row(record: dict, updated_at: datetime, record_id: str, parent_id: str | None = None) -> dict:
    return {
        "record_id": record_id,
        "parent_id": parent_id,
        "updated_at": updated_at,
        "record": json.dumps(record),
    }


def visit(visit_id: int, when: datetime, **extra) -> dict:
    stamp = int(when.timestamp())
    record = {
        "idSite": SITE_ID,
        "idVisit": visit_id,
        "visitorId": f"{visit_id:016x}",
        "userId": None,
        "fingerprint": f"fp{visit_id}",
        "visitCount": 1,
        "visitorType": "new",
        "firstActionTimestamp": stamp - 120,
        "lastActionTimestamp": stamp,
        "serverTimestamp": stamp,
        "visitDuration": 120,
        "actions": 2,
        "referrerType": "direct",
        "referrerName": "",
        "deviceType": "Desktop",
        "browserName": "Firefox",
        "operatingSystem": "Linux",
        "actionDetails": [
            {
                "type": "action",
                "url": "https://shop.example/products/mug",
                "pageTitle": "Mug",
                "timestamp": stamp - 120,
                "timeSpent": 120,
            },
            {
                "type": "event",
                "eventCategory": "form",
                "eventAction": "newsletter_signup",
                "eventName": f" Person{visit_id}@Example.com",
                "timestamp": stamp,
            },
        ],
    }
    record.update(extra)
    return row(record, when, str(visit_id))


def member(number: int, status: str, changed: datetime) -> dict:
    email = f"person{number}@example.com"
    record = {
        "id": f"hash{number:04d}",
        "email_address": email,
        "unique_email_id": f"ue{number:04d}",
        "status": status,
        "timestamp_signup": "",
        "timestamp_opt": mailchimp_time(at(1 + number % 5)),
        "last_changed": mailchimp_time(changed),
        "source": "API",
        "merge_fields": {"FNAME": f"P{number}", "LNAME": "Example"},
        "list_id": LIST_ID,
    }
    return row(record, changed, record["id"])


def report_row(campaign: str, number: int, when: datetime, stream: str) -> dict:
    email_id = f"hash{number:04d}"
    email = f"person{number}@example.com"
    base = {"campaign_id": campaign, "list_id": LIST_ID, "email_id": email_id}
    if stream == "sent_to":
        record = {
            **base,
            "email_address": email,
            "status": "sent",
            "open_count": number % 3,
            "last_open": mailchimp_time(when) if number % 3 else "",
        }
    elif stream == "email_activity":
        record = {
            **base,
            "email_address": email,
            "activity": [
                {"action": "open", "type": "", "timestamp": mailchimp_time(when), "ip": ""},
                {
                    "action": "click",
                    "type": "",
                    "timestamp": mailchimp_time(when + timedelta(minutes=1)),
                    "url": f"https://shop.example/?mc_cid={campaign}&mc_eid=ue{number:04d}",
                    "ip": "",
                },
            ],
        }
    else:
        record = {
            **base,
            "email_address": email,
            "timestamp": mailchimp_time(when),
            "reason": "N/A (Unsubscribed from the subscriber profile)",
        }
    return row(record, when, f"{campaign}:{email_id}", campaign)


def order(order_id: int, created: datetime, updated: datetime, **extra) -> dict:
    record = {
        "id": order_id,
        "name": f"#{order_id}",
        "email": f"person{order_id % 12}@example.com",
        "contact_email": f"person{order_id % 12}@example.com",
        "created_at": shopify_time(created),
        "updated_at": shopify_time(updated),
        "processed_at": shopify_time(created),
        "cancelled_at": None,
        "cancel_reason": None,
        "financial_status": "paid",
        "fulfillment_status": None,
        "test": False,
        "currency": "EUR",
        "total_price": "42.00",
        "subtotal_price": "40.00",
        "total_discounts": "0.00",
        "total_tax": "2.00",
        "landing_site": "/products/mug?utm_source=google&utm_medium=cpc",
        "referring_site": "https://www.google.com/",
        "source_name": "web",
        "checkout_token": f"tok{order_id}",
        "cart_token": f"cart{order_id}",
        "discount_codes": [],
        "customer": {"id": 500 + order_id % 10, "email": f"person{order_id % 12}@example.com"},
        "line_items": [{"id": order_id * 10, "product_id": 7, "quantity": 1, "price": "40.00"}],
        "refunds": [],
    }
    record.update(extra)
    return row(record, updated, str(order_id))


def customer(customer_id: int, updated: datetime) -> dict:
    record = {
        "id": customer_id,
        "email": f"person{customer_id % 12}@example.com",
        "phone": None,
        "first_name": "P",
        "last_name": "Example",
        "created_at": shopify_time(at(1)),
        "updated_at": shopify_time(updated),
        "orders_count": 1,
        "total_spent": "42.00",
        "state": "enabled",
        "verified_email": True,
        "tags": "",
    }
    return row(record, updated, str(customer_id))


def checkout(checkout_id: int, updated: datetime) -> dict:
    record = {
        "id": checkout_id,
        "token": f"ck{checkout_id}",
        "cart_token": f"cart{checkout_id}",
        "email": f"person{checkout_id % 12}@example.com",
        "created_at": shopify_time(updated - timedelta(hours=1)),
        "updated_at": shopify_time(updated),
        "completed_at": None,
        "landing_site": "/",
        "referring_site": "",
        "total_price": "10.00",
        "currency": "EUR",
        "customer": None,
        "line_items": [],
    }
    return row(record, updated, str(checkout_id))


def ticket(ticket_id: int, updated: datetime, status: str) -> dict:
    record = {
        "id": ticket_id,
        "created_at": zendesk_time(at(2)),
        "updated_at": zendesk_time(updated),
        "subject": f"Help {ticket_id}",
        "status": status,
        "type": "question",
        "priority": "normal",
        "requester_id": 9000 + ticket_id,
        "submitter_id": 9000 + ticket_id,
        "assignee_id": 1,
        "via": {"channel": "email"},
        "tags": ["help"],
        "satisfaction_rating": {"score": "unoffered"},
    }
    return row(record, updated, str(ticket_id))


def metric_set(ticket_id: int, updated: datetime) -> dict:
    record = {
        "id": 700 + ticket_id,
        "ticket_id": ticket_id,
        "created_at": zendesk_time(at(2)),
        "updated_at": zendesk_time(updated),
        "reopens": 0,
        "replies": 1,
        "reply_time_in_minutes": {"calendar": 30, "business": 30},
        "first_resolution_time_in_minutes": {"calendar": 60, "business": 60},
        "full_resolution_time_in_minutes": {"calendar": 60, "business": 60},
        "solved_at": zendesk_time(updated),
    }
    return row(record, updated, str(700 + ticket_id), str(ticket_id))


def user(user_id: int, updated: datetime) -> dict:
    record = {
        "id": 9000 + user_id,
        "name": f"Person {user_id}",
        "email": f"person{user_id}@example.com",
        "phone": None,
        "role": "end-user",
        "created_at": zendesk_time(at(1)),
        "updated_at": zendesk_time(updated),
    }
    return row(record, updated, str(9000 + user_id))


def rating(rating_id: int, updated: datetime) -> dict:
    record = {
        "id": 800 + rating_id,
        "ticket_id": rating_id,
        "requester_id": 9000 + rating_id,
        "assignee_id": 1,
        "score": "good" if rating_id % 2 else "bad",
        "comment": "",
        "reason": None,
        "created_at": zendesk_time(updated),
        "updated_at": zendesk_time(updated),
    }
    return row(record, updated, str(800 + rating_id))


def vendor_rows() -> dict[tuple[str, str], list[dict]]:
    visits = [visit(n, at(1 + (n - 1) % 30, 9, n)) for n in range(1, 31)]
    visits.append(visits[6])  # an exact duplicate row: served twice
    members = [member(n, "subscribed", at(n)) for n in range(1, 13)]
    members.append(member(3, "unsubscribed", at(20)))
    campaigns = [
        row(
            {
                "id": "camp0001",
                "campaign_title": "January news",
                "type": "regular",
                "list_id": LIST_ID,
                "subject_line": "News",
                "emails_sent": 10,
                "send_time": mailchimp_time(at(5)),
            },
            at(5),
            "camp0001",
        ),
        row(
            {
                "id": "camp0002",
                "campaign_title": "Welcome",
                "type": "automation",
                "list_id": LIST_ID,
                "subject_line": "Welcome",
                "emails_sent": 4,
                "send_time": mailchimp_time(at(1)),
            },
            at(1),
            "camp0002",
        ),
    ]
    sent_to = [report_row("camp0001", n, at(5), "sent_to") for n in range(1, 11)]
    sent_to += [report_row("camp0002", n, at(n + 1), "sent_to") for n in range(1, 5)]
    activity = [report_row("camp0001", n, at(5 + n), "email_activity") for n in range(1, 6)]
    unsubscribes = [report_row("camp0001", 3, at(20), "unsubscribes")]
    orders = [order(1000 + n, at(n), at(n)) for n in range(1, 21)]
    orders.append(
        order(1004, at(4), at(25), financial_status="refunded", total_price="0.00")
    )  # a later version of order 1004
    customers = [customer(500 + n, at(n)) for n in range(10)]
    checkouts = [checkout(3000 + n, at(n + 2)) for n in range(6)]
    tickets = [ticket(n, at(2 + n), "open") for n in range(1, 9)]
    tickets.append(ticket(2, at(22), "solved"))
    metrics = [metric_set(n, at(2 + n)) for n in range(1, 9)]
    metrics.append(metric_set(2, at(22)))
    users = [user(n, at(n)) for n in range(1, 9)]
    ratings = [rating(n, at(10 + n)) for n in range(1, 5)]
    return {
        ("matomo", "visits"): visits,
        ("mailchimp", "members"): members,
        ("mailchimp", "campaigns"): campaigns,
        ("mailchimp", "sent_to"): sent_to,
        ("mailchimp", "email_activity"): activity,
        ("mailchimp", "unsubscribes"): unsubscribes,
        ("shopify", "orders"): orders,
        ("shopify", "customers"): customers,
        ("shopify", "checkouts"): checkouts,
        ("zendesk", "tickets"): tickets,
        ("zendesk", "ticket_metrics"): metrics,
        ("zendesk", "users"): users,
        ("zendesk", "satisfaction_ratings"): ratings,
    }


REVIEWS_CSV = """review_id,email,rating,title,reviewed_at,product_id
r1,ann@example.com,5,"Great, really",2026-01-10T10:00:00Z,p1
r2,bob@example.com,4,Good,2026-01-11T09:00:00+01:00,p2
r3,cy@example.com,2,"Two
lines",2026-01-12,p1
"""

NPS_NDJSON = """{"response_id": "n1", "email": "ann@example.com", "score": 9, "comment": "", "responded_at": "2026-01-15T08:00:00Z"}
{"response_id": "n2", "email": "bob@example.com", "score": "6", "comment": "ok", "responded_at": "2026-01-16T08:00:00Z"}
"""


def write_rows(root: Path, source: str, stream: str, rows: list[dict]) -> Path:
    path = root / "vendor" / source / f"{stream}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pl.DataFrame(
        rows,
        schema={
            "record_id": pl.String,
            "parent_id": pl.String,
            "updated_at": pl.Datetime("us", "UTC"),
            "record": pl.String,
        },
    )
    frame.write_parquet(path)
    return path


def build_dataset(root: Path) -> Path:
    for (source, stream), rows in vendor_rows().items():
        write_rows(root, source, stream, rows)
    (root / "drop" / "reviews").mkdir(parents=True, exist_ok=True)
    (root / "drop" / "reviews" / "reviews-2026-01.csv").write_text(REVIEWS_CSV)
    (root / "drop" / "nps_responses").mkdir(parents=True, exist_ok=True)
    (root / "drop" / "nps_responses" / "nps.ndjson").write_text(NPS_NDJSON)
    manifest = {"seed": 0, "persons": 12, "period_start": "2026-01-01", "period_end": "2026-01-31"}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root
