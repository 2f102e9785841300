"""Every file has the shape of docs/contracts.md (§1 vendor fields and timestamp formats, §2 the
vendor dataset, §4 drop columns, §6.7 truth) and the manifest counts what was written."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import orjson
import polars as pl
import pytest

from devkit.demo import catalog
from tests.demo.helpers import decoded, drop, manifest, truth, vendor

# One worker builds the shared default-size dataset once (`pytest -n 2 --dist loadgroup`).
pytestmark = pytest.mark.xdist_group("demo-dataset")

MAILCHIMP_TS = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$"
SHOPIFY_TS = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$"
ZENDESK_TS = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"

# stream: (required fields, timestamp fields, timestamp pattern, fields that may be "" or null)
STREAMS = {
    ("matomo", "visits"): (
        ["idSite", "idVisit", "visitorId", "userId", "fingerprint", "visitCount", "visitorType",
         "firstActionTimestamp", "lastActionTimestamp", "serverTimestamp", "visitDuration", "actions",
         "referrerType", "referrerName", "referrerKeyword", "referrerUrl", "campaignName", "campaignSource",
         "campaignMedium", "campaignKeyword", "campaignContent", "deviceType", "browserName",
         "operatingSystem", "actionDetails"],
        [], None, [],
    ),
    ("mailchimp", "members"): (
        ["id", "email_address", "unique_email_id", "status", "timestamp_signup", "timestamp_opt",
         "last_changed", "source", "merge_fields", "list_id"],
        ["timestamp_signup", "timestamp_opt", "last_changed"], MAILCHIMP_TS, ["timestamp_signup", "timestamp_opt"],
    ),
    ("mailchimp", "campaigns"): (
        ["id", "campaign_title", "type", "list_id", "subject_line", "emails_sent", "send_time"],
        ["send_time"], MAILCHIMP_TS, [],
    ),
    ("mailchimp", "sent_to"): (
        ["email_id", "email_address", "status", "open_count", "last_open", "campaign_id", "list_id"],
        ["last_open"], MAILCHIMP_TS, ["last_open"],
    ),
    ("mailchimp", "email_activity"): (
        ["campaign_id", "list_id", "email_id", "email_address", "activity"], [], None, [],
    ),
    ("mailchimp", "unsubscribes"): (
        ["email_id", "email_address", "timestamp", "reason", "campaign_id", "list_id"],
        ["timestamp"], MAILCHIMP_TS, [],
    ),
    ("shopify", "orders"): (
        ["id", "name", "email", "contact_email", "created_at", "updated_at", "processed_at", "cancelled_at",
         "cancel_reason", "financial_status", "fulfillment_status", "test", "currency", "total_price",
         "subtotal_price", "total_discounts", "total_tax", "landing_site", "referring_site", "source_name",
         "checkout_token", "cart_token", "discount_codes", "customer", "line_items", "refunds",
         "presentment_currency", "taxes_included", "total_line_items_price", "total_tip_received",
         "total_shipping_price_set", "total_price_set", "subtotal_price_set", "total_tax_set",
         "original_total_duties_set", "shipping_lines", "tax_lines", "discount_applications"],
        ["created_at", "updated_at", "processed_at", "cancelled_at"], SHOPIFY_TS, ["cancelled_at"],
    ),
    ("shopify", "customers"): (
        ["id", "email", "phone", "first_name", "last_name", "created_at", "updated_at", "orders_count",
         "total_spent", "state", "verified_email", "tags"],
        ["created_at", "updated_at"], SHOPIFY_TS, [],
    ),
    ("shopify", "checkouts"): (
        ["id", "token", "cart_token", "email", "created_at", "updated_at", "completed_at", "landing_site",
         "referring_site", "total_price", "currency", "customer", "line_items"],
        ["created_at", "updated_at", "completed_at"], SHOPIFY_TS, ["completed_at"],
    ),
    ("zendesk", "tickets"): (
        ["id", "created_at", "updated_at", "subject", "status", "type", "priority", "requester_id",
         "submitter_id", "assignee_id", "via", "tags", "satisfaction_rating"],
        ["created_at", "updated_at"], ZENDESK_TS, [],
    ),
    ("zendesk", "ticket_metrics"): (
        ["id", "ticket_id", "created_at", "updated_at", "reopens", "replies", "reply_time_in_minutes",
         "first_resolution_time_in_minutes", "full_resolution_time_in_minutes", "solved_at"],
        ["created_at", "updated_at", "solved_at"], ZENDESK_TS, ["solved_at"],
    ),
    ("zendesk", "users"): (
        ["id", "name", "email", "phone", "role", "created_at", "updated_at"],
        ["created_at", "updated_at"], ZENDESK_TS, [],
    ),
    ("zendesk", "satisfaction_ratings"): (
        ["id", "ticket_id", "requester_id", "assignee_id", "score", "comment", "reason", "created_at",
         "updated_at"],
        ["created_at", "updated_at"], ZENDESK_TS, [],
    ),
}  # fmt: skip
NATURAL_KEY = {  # record_id as §2 defines it, from the record
    ("matomo", "visits"): pl.col("idVisit").cast(pl.String),
    ("mailchimp", "members"): pl.col("id"),
    ("mailchimp", "campaigns"): pl.col("id"),
    ("mailchimp", "sent_to"): pl.format("{}:{}", "campaign_id", "email_id"),
    ("mailchimp", "email_activity"): pl.format("{}:{}", "campaign_id", "email_id"),
    ("mailchimp", "unsubscribes"): pl.format("{}:{}", "campaign_id", "email_id"),
    ("zendesk", "ticket_metrics"): pl.col("id").cast(pl.String),
}
PARENT = {
    ("mailchimp", "sent_to"): pl.col("campaign_id"),
    ("mailchimp", "email_activity"): pl.col("campaign_id"),
    ("mailchimp", "unsubscribes"): pl.col("campaign_id"),
    ("zendesk", "ticket_metrics"): pl.col("ticket_id").cast(pl.String),
}
DROP_COLUMNS = {
    "nps_responses": ["response_id", "email", "score", "comment", "responded_at"],
    "reviews": ["review_id", "email", "rating", "title", "reviewed_at", "product_id"],
    "marketing_spend": [
        "spend_date",
        "channel",
        "source",
        "medium",
        "campaign",
        "spend",
        "currency",
    ],
}
TRUTH_SCHEMAS = {
    "identities": {"person_key": pl.String, "identifier_kind": pl.String, "identifier_value": pl.String},
    "phases": {"person_key": pl.String, "phase": pl.String, "entered_at": pl.Datetime("us", "UTC")},
    "touchpoints": {
        "person_key": pl.String, "source": pl.String, "stream": pl.String, "record_id": pl.String,
        "touchpoint_type": pl.String, "occurred_at": pl.Datetime("us", "UTC"), "phase": pl.String,
    },
    "sessions": {
        "visitor_id": pl.String, "session_started_at": pl.Datetime("us", "UTC"),
        "session_ended_at": pl.Datetime("us", "UTC"), "page_views": pl.Int64, "split_reason": pl.String,
    },
    "orders": {
        "order_id": pl.String, "person_key": pl.String, "created_at": pl.Datetime("us", "UTC"),
        "is_test": pl.Boolean, "is_cancelled": pl.Boolean, "total_price": pl.Float64,
        "refunded_amount": pl.Float64, "is_first_order": pl.Boolean, "subtotal_price": pl.Float64,
        "shipping_price": pl.Float64, "total_tax": pl.Float64, "is_taxes_included": pl.Boolean,
        "total_tip_received": pl.Float64, "total_duties": pl.Float64,
    },
}  # fmt: skip
IDENTIFIER_KINDS = {"web_visitor_id", "web_user_id", "email", "email_subscriber_id", "shop_customer_id",
                    "checkout_token", "support_requester_id", "phone"}  # fmt: skip


@pytest.mark.parametrize(("source", "stream"), list(STREAMS))
def test_vendor_stream_shape(dataset: Path, source: str, stream: str) -> None:
    frame = vendor(dataset, source, stream)
    assert frame.schema == pl.Schema(
        {
            "record_id": pl.String,
            "parent_id": pl.String,
            "updated_at": pl.Datetime("us", "UTC"),
            "record": pl.String,
        }
    )
    assert frame.height > 0
    assert frame["record_id"].null_count() == 0
    required, timestamps, pattern, optional = STREAMS[(source, stream)]
    parsed = [orjson.loads(text) for text in frame["record"]]  # every record is one JSON object
    missing = {key for record in parsed for key in required if key not in record}
    assert not missing, f"records without {missing}"
    values = decoded(frame, {name: pl.String for name in timestamps})
    for name in timestamps:
        column = f"record_{name}" if name in frame.columns else name
        present = values.filter(pl.col(column).is_not_null() & (pl.col(column) != ""))
        assert present[column].str.contains(pattern).all(), present[column].head()
        if name not in optional:
            assert present.height == values.height, f"{name} missing in some records"
    if (source, stream) in NATURAL_KEY:
        fields = {
            "idVisit": pl.Int64,
            "id": pl.String,
            "campaign_id": pl.String,
            "email_id": pl.String,
            "ticket_id": pl.Int64,
        }
        keyed = decoded(frame, fields).select(
            "record_id", "parent_id", key=NATURAL_KEY[(source, stream)]
        )
        assert (keyed["record_id"] == keyed["key"]).all()
        if (source, stream) in PARENT:
            parents = decoded(frame, fields).select("parent_id", expected=PARENT[(source, stream)])
            assert (parents["parent_id"] == parents["expected"]).all()


def test_updated_at_matches_the_record(dataset: Path) -> None:
    """The version time column is the record's own updated_at (Shopify offsets, Zendesk Z)."""
    for source, stream in [
        ("shopify", "orders"),
        ("shopify", "customers"),
        ("zendesk", "tickets"),
        ("zendesk", "users"),
    ]:
        frame = decoded(vendor(dataset, source, stream), {"updated_at": pl.String})
        parsed = frame["record_updated_at"].str.to_datetime(
            "%Y-%m-%dT%H:%M:%S%:z" if source == "shopify" else "%Y-%m-%dT%H:%M:%S%#z"
        )
        assert (parsed.dt.convert_time_zone("UTC") == frame["updated_at"]).all()
    visits = decoded(
        vendor(dataset, "matomo", "visits"), {"lastActionTimestamp": pl.Int64, "actions": pl.Int64}
    )
    assert (visits["updated_at"].dt.epoch("s") == visits["lastActionTimestamp"]).all()


def test_matomo_details_and_money_formats(dataset: Path) -> None:
    visits = decoded(
        vendor(dataset, "matomo", "visits"),
        {
            "actions": pl.Int64,
            "visitorId": pl.String,
            "actionDetails": pl.List(pl.Struct({"type": pl.String, "timestamp": pl.Int64})),
        },
    )
    # Matomo's `actions` counts interactions, not goals and ecommerce conversions
    conversions = ["goal", "ecommerceOrder", "ecommerceAbandonedCart"]
    interactions = (
        visits["actionDetails"]
        .list.eval(~pl.element().struct.field("type").is_in(conversions))
        .list.sum()
    )
    assert (interactions == visits["actions"]).all()
    # 16 hex characters; a few devices' visits send them in upper case (server-side tracking)
    assert visits["visitorId"].str.contains(r"^[0-9a-fA-F]{16}$").all()
    upper = visits["visitorId"].str.contains("[A-F]")
    assert 0 < upper.sum() < 0.1 * visits.height
    first = visits["actionDetails"].list.first().struct.field("type")
    assert (first == "action").all()  # a visit starts with a page view
    types = set(visits["actionDetails"].explode().struct.field("type").unique())
    assert types == set(catalog.ACTION_TYPES.categories)  # every type a real site sends
    # numbers as Matomo 4 sends them (strings) and as Matomo 5 does (numbers), per field
    records = vendor(dataset, "matomo", "visits")["record"]
    for field in ("idVisit", "visitDuration", "actions", "lastActionTimestamp", "timestamp"):
        assert records.str.contains(f'"{field}":"[0-9]').any(), field
        assert records.str.contains(f'"{field}":[0-9]').any(), field
    # an action carries only its type's keys (a page view has no event fields)
    assert not records.str.contains(":null}", literal=True).any()
    assert not records.str.contains('"eventCategory":null', literal=True).any()
    orders = decoded(
        vendor(dataset, "shopify", "orders"), {"total_price": pl.String, "total_tax": pl.String}
    )
    assert orders["total_price"].str.contains(r"^\d+\.\d{2}$").all()
    assert orders["total_tax"].str.contains(r"^\d+\.\d{2}$").all()


@pytest.mark.parametrize("stream", list(DROP_COLUMNS))
def test_drop_columns(dataset: Path, stream: str) -> None:
    files = sorted((dataset / "drop" / stream).glob("*.csv"))
    assert files
    for path in files:
        assert path.read_text().splitlines()[0] == ",".join(DROP_COLUMNS[stream])
    frame = drop(dataset, stream)
    if stream == "nps_responses":
        assert frame["score"].cast(pl.Int64).is_between(0, 10).all()
        assert frame["responded_at"].str.contains(ZENDESK_TS).all()
    if stream == "reviews":
        assert frame["rating"].cast(pl.Int64).is_between(1, 5).all()
    if stream == "marketing_spend":
        assert frame["spend"].str.contains(r"^\d+\.\d{2}$").all()
        assert frame.select("spend_date", "channel", "campaign").is_unique().all()


@pytest.mark.parametrize("name", list(TRUTH_SCHEMAS))
def test_truth_schema(dataset: Path, name: str) -> None:
    frame = truth(dataset, name)
    assert frame.schema == pl.Schema(TRUTH_SCHEMAS[name])
    assert frame.height > 0
    if name == "identities":
        assert set(frame["identifier_kind"].unique()) == IDENTIFIER_KINDS
        assert frame.select("identifier_kind", "identifier_value").is_unique().all()
    if name == "phases":
        assert set(frame["phase"].unique()) <= {
            "awareness",
            "consideration",
            "conversion",
            "retention",
            "loyalty",
        }


def test_manifest_counts_every_file(dataset: Path) -> None:
    meta = manifest(dataset)
    assert meta["seed"] == 7 and meta["persons"] == 2000
    assert meta["period"] == {"start": "2026-01-01", "end": "2026-09-30"}
    assert meta["generator_version"]
    written = {p.relative_to(dataset).as_posix() for p in dataset.rglob("*") if p.is_file()} - {
        "manifest.json"
    }
    assert set(meta["row_counts"]) == written
    for name, rows in meta["row_counts"].items():
        path = dataset / name
        count = (
            pl.read_parquet(path).height
            if path.suffix == ".parquet"
            else pl.read_csv(path, infer_schema=False).height
        )
        assert count == rows, name


def test_everything_happens_inside_the_period(dataset: Path) -> None:
    start, end = (
        datetime.fromisoformat("2026-01-01T00:00:00+00:00"),
        datetime.fromisoformat("2026-10-01T00:00:00+00:00"),
    )
    for source, stream in STREAMS:
        frame = vendor(dataset, source, stream)
        if (source, stream) == ("zendesk", "users"):
            frame = frame.filter(pl.col("record").str.contains('"role":"end-user"'))
        assert frame["updated_at"].min() >= start and frame["updated_at"].max() < end, (
            source,
            stream,
        )
    touchpoints = truth(dataset, "touchpoints")
    assert touchpoints["occurred_at"].min() >= start and touchpoints["occurred_at"].max() < end


@pytest.mark.parametrize(("source", "stream"), list(STREAMS))
def test_one_version_per_record_and_time(dataset: Path, source: str, stream: str) -> None:
    """The sandbox serves the latest version ≤ T per record: it must be unambiguous."""
    frame = vendor(dataset, source, stream).unique()
    assert frame.select("record_id", "updated_at").is_unique().all()
