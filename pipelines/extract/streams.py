"""The registry of every stream the extraction layer lands (docs/contracts.md §1 and §4).

One `StreamSpec` per source/stream says how to read a record's natural key and version time
(top-level JSON fields and the timestamp format), which fields the stream requires, which
top-level fields it knows (anything else is schema drift, kept and reported), and which
contract type checks a record must pass to land rather than go to quarantine.

The registry is data; the validation that applies it lives in `landing.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

TimestampFormat = Literal["unix", "iso"]

# Contract type checks (see `landing.py` for how each is evaluated, vectorised):
#   integer, number, string, boolean, array, object — the JSON type of the value;
#   id — a JSON integer or a non-empty string;
#   unix — unix seconds (a JSON number or a numeric string) between 1970 and 2200;
#   iso — an ISO-8601 timestamp string ("" counts as absent, as Mailchimp sends it);
#   integer_text, number_text, boolean_text — a value whose text parses as that type
#   (file drops: CSV cells are text, NDJSON values may be native);
#   numeric, integral — a JSON number or a string holding one (Matomo sends many numbers as
#   strings, depending on version and field): finite, and for `integral` without a fraction;
#   a blank string counts as absent, as for timestamps;
#   money — a JSON number or a string holding one (blank: absent), as `numeric`.
# A check applies only where the field is present and not null. A value of the right type may
# still be quarantined as a bad value (not finite, out of range, a year out of range): values.py.
CheckKind = Literal[
    "integer",
    "number",
    "numeric",
    "integral",
    "money",
    "string",
    "boolean",
    "array",
    "object",
    "id",
    "unix",
    "iso",
    "integer_text",
    "number_text",
    "boolean_text",
]


@dataclass(frozen=True)
class StreamSpec:
    source: str
    stream: str
    key_fields: tuple[str, ...]
    """Top-level fields forming the natural key; several are joined with ':' (contracts §2)."""
    version_field: str | None
    """Top-level field holding the version time; None for streams without one."""
    version_format: TimestampFormat | None
    required: tuple[str, ...]
    """Fields every record must carry. Absent from one record: quarantine; from a whole
    page (or file): schema drift, the stream fails."""
    known_fields: tuple[str, ...]
    checks: dict[str, CheckKind] = field(default_factory=dict)
    not_blank: tuple[str, ...] = ()
    """Required fields that must also hold a value: null or a blank string is quarantined."""
    item_checks: dict[str, dict[str, CheckKind]] = field(default_factory=dict)
    """Per array field, checks on the fields of its items (objects), of the kinds decided by a
    value's text (numeric, integral, unix); an item field absent or null passes, like a
    top-level one."""
    item_required: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Per array field, fields every item must carry with a value (else quarantine)."""

    @property
    def name(self) -> str:
        return f"{self.source}/{self.stream}"

    def __post_init__(self) -> None:
        fields = set(self.known_fields)
        declared = set(self.key_fields) | set(self.required) | set(self.checks)
        if self.version_field:
            declared.add(self.version_field)
        unknown = sorted(declared - fields)
        if unknown:
            raise ValueError(f"{self.name}: fields {unknown} are used but not in known_fields")
        if (self.version_field is None) != (self.version_format is None):
            raise ValueError(f"{self.name}: version_field and version_format go together")
        if not set(self.not_blank) <= set(self.required):
            raise ValueError(f"{self.name}: not_blank fields must be required fields")
        for array in {*self.item_checks, *self.item_required}:
            if self.checks.get(array) != "array":
                raise ValueError(f"{self.name}: item checks need {array!r} checked as an array")
        item_kinds = {kind for checks in self.item_checks.values() for kind in checks.values()}
        if not item_kinds <= {"numeric", "integral", "unix"}:
            raise ValueError(f"{self.name}: item checks support numeric, integral and unix only")


def _spec(
    source: str,
    stream: str,
    key: tuple[str, ...],
    version: tuple[str, TimestampFormat] | None,
    required: tuple[str, ...],
    known: str,
    checks: dict[str, CheckKind],
    **details,
) -> StreamSpec:
    return StreamSpec(
        source=source,
        stream=stream,
        key_fields=key,
        version_field=version[0] if version else None,
        version_format=version[1] if version else None,
        required=required,
        known_fields=tuple(known.split()),
        checks=checks,
        **details,
    )


_ORDER_AMOUNTS = """total_price subtotal_price total_line_items_price total_discounts
total_tax total_tip_received total_outstanding"""

_VENDOR_SPECS = (
    # ---- Matomo (contracts §1.1): numbers may come as JSON numbers or numeric strings -------
    _spec(
        "matomo",
        "visits",
        ("idVisit",),
        ("lastActionTimestamp", "unix"),
        ("idVisit", "visitorId", "lastActionTimestamp", "actionDetails"),
        """idSite idVisit visitorId userId fingerprint visitCount visitorType
        firstActionTimestamp lastActionTimestamp serverTimestamp visitDuration actions
        referrerType referrerName referrerKeyword referrerUrl campaignName campaignSource
        campaignMedium campaignKeyword campaignContent deviceType browserName operatingSystem
        actionDetails""",
        {
            "idSite": "integral",
            "idVisit": "integral",
            "visitorId": "string",
            "userId": "string",
            "visitCount": "integral",
            "firstActionTimestamp": "unix",
            "serverTimestamp": "unix",
            "visitDuration": "numeric",
            "actions": "integral",
            "actionDetails": "array",
        },
        not_blank=("visitorId",),
        item_checks={
            "actionDetails": {
                "timestamp": "unix",
                "timeSpent": "numeric",
                "generationTimeMilliseconds": "numeric",
                "eventValue": "numeric",
                "siteSearchCount": "integral",
                "revenue": "numeric",
                "items": "integral",
            }
        },
        item_required={"actionDetails": ("type", "timestamp")},
    ),
    # ---- Mailchimp (contracts §1.2) -------------------------------------------------------
    _spec(
        "mailchimp",
        "members",
        ("id",),
        ("last_changed", "iso"),
        ("id", "email_address", "status", "last_changed"),
        """id email_address unique_email_id status timestamp_signup timestamp_opt
        last_changed source merge_fields list_id""",
        {
            "id": "string",
            "email_address": "string",
            "unique_email_id": "string",
            "status": "string",
            "timestamp_signup": "iso",
            "timestamp_opt": "iso",
            "merge_fields": "object",
        },
    ),
    _spec(
        "mailchimp",
        "campaigns",
        ("id",),
        None,
        ("id", "type", "send_time"),
        "id campaign_title type list_id subject_line emails_sent send_time rss_last_send",
        {"id": "string", "type": "string", "emails_sent": "integral", "send_time": "iso"},
    ),
    _spec(
        "mailchimp",
        "sent_to",
        ("campaign_id", "email_id"),
        None,
        ("campaign_id", "email_id", "email_address", "status"),
        "email_id email_address status open_count last_open campaign_id list_id",
        {
            "campaign_id": "string",
            "email_id": "string",
            "email_address": "string",
            "open_count": "integral",
            "last_open": "iso",
        },
    ),
    _spec(
        "mailchimp",
        "email_activity",
        ("campaign_id", "email_id"),
        None,
        ("campaign_id", "email_id", "activity"),
        "campaign_id list_id email_id email_address activity",
        {
            "campaign_id": "string",
            "email_id": "string",
            "email_address": "string",
            "activity": "array",
        },
    ),
    _spec(
        "mailchimp",
        "unsubscribes",
        ("campaign_id", "email_id"),
        None,
        ("campaign_id", "email_id", "timestamp"),
        "email_id email_address timestamp reason campaign_id list_id",
        {
            "campaign_id": "string",
            "email_id": "string",
            "email_address": "string",
            "timestamp": "iso",
        },
    ),
    # ---- Shopify (contracts §1.3) ---------------------------------------------------------
    _spec(
        "shopify",
        "orders",
        ("id",),
        ("updated_at", "iso"),
        ("id", "created_at", "updated_at"),
        """id admin_graphql_api_id name order_number email contact_email phone created_at
        updated_at processed_at closed_at cancelled_at cancel_reason financial_status
        fulfillment_status confirmed test currency presentment_currency taxes_included
        duties_included estimated_taxes total_price total_price_set subtotal_price
        subtotal_price_set total_line_items_price total_line_items_price_set total_discounts
        total_discounts_set total_tax total_tax_set total_tip_received total_shipping_price_set
        original_total_duties_set current_total_duties_set original_total_additional_fees_set
        current_total_additional_fees_set total_outstanding tax_lines landing_site
        referring_site source_name checkout_token cart_token tags note discount_codes
        discount_applications customer line_items shipping_lines refunds""",
        {
            "id": "integer",
            "created_at": "iso",
            "processed_at": "iso",
            "cancelled_at": "iso",
            "test": "boolean",
            "taxes_included": "boolean",
            # Money: decimal strings, or an older payload's JSON numbers (values.py).
            **dict.fromkeys(_ORDER_AMOUNTS.split(), "money"),
            "discount_codes": "array",
            "customer": "object",
            "line_items": "array",
            "shipping_lines": "array",
            "refunds": "array",
        },
    ),
    _spec(
        "shopify",
        "customers",
        ("id",),
        ("updated_at", "iso"),
        ("id", "created_at", "updated_at"),
        """id email phone first_name last_name created_at updated_at orders_count
        total_spent state verified_email tags""",
        {"id": "integer", "created_at": "iso", "orders_count": "integer"},
    ),
    _spec(
        "shopify",
        "checkouts",
        ("id",),
        ("updated_at", "iso"),
        ("id", "created_at", "updated_at"),
        """id token cart_token email created_at updated_at completed_at landing_site
        referring_site total_price currency customer line_items""",
        {
            "id": "integer",
            "created_at": "iso",
            "completed_at": "iso",
            "total_price": "money",
            "customer": "object",
            "line_items": "array",
        },
    ),
    # ---- Zendesk (contracts §1.4) ---------------------------------------------------------
    _spec(
        "zendesk",
        "tickets",
        ("id",),
        ("updated_at", "iso"),
        ("id", "created_at", "updated_at", "requester_id"),
        """id created_at updated_at subject status type priority requester_id
        submitter_id assignee_id via tags satisfaction_rating""",
        {
            "id": "integer",
            "created_at": "iso",
            "requester_id": "integer",
            "via": "object",
            "tags": "array",
        },
    ),
    _spec(
        "zendesk",
        "ticket_metrics",
        ("id",),
        ("updated_at", "iso"),
        ("id", "ticket_id", "updated_at"),
        """id ticket_id created_at updated_at reopens replies reply_time_in_minutes
        first_resolution_time_in_minutes full_resolution_time_in_minutes solved_at""",
        {"id": "integer", "ticket_id": "integer", "created_at": "iso", "solved_at": "iso"},
    ),
    _spec(
        "zendesk",
        "users",
        ("id",),
        ("updated_at", "iso"),
        ("id", "updated_at"),
        "id name email phone role created_at updated_at",
        {"id": "integer", "created_at": "iso"},
    ),
    _spec(
        "zendesk",
        "satisfaction_ratings",
        ("id",),
        ("updated_at", "iso"),
        ("id", "ticket_id", "score", "updated_at"),
        """id ticket_id requester_id assignee_id score comment reason created_at
        updated_at""",
        {"id": "integer", "ticket_id": "integer", "score": "string", "created_at": "iso"},
    ),
)

# ---- File drops (contracts §4): CSV cells are text, so checks are on the text -------------
_FILEDROP_SPECS = (
    _spec(
        "filedrop",
        "web_pageviews",
        ("pageview_id",),
        None,
        ("pageview_id", "visitor_id", "occurred_at"),
        """pageview_id visitor_id user_id occurred_at url page_title referrer_url
        event_category event_action event_name""",
        {"occurred_at": "iso"},
    ),
    _spec(
        "filedrop",
        "email_members",
        ("subscriber_id",),
        ("updated_at", "iso"),
        ("subscriber_id", "email", "updated_at"),
        "subscriber_id email status subscribed_at updated_at",
        {"subscribed_at": "iso"},
    ),
    _spec(
        "filedrop",
        "email_events",
        ("event_id",),
        None,
        ("event_id", "event_type", "occurred_at"),
        "event_id campaign_id campaign_name subscriber_id email event_type occurred_at url",
        {"occurred_at": "iso"},
    ),
    _spec(
        "filedrop",
        "orders",
        ("order_id",),
        ("updated_at", "iso"),
        ("order_id", "created_at", "updated_at"),
        """order_id customer_id email created_at updated_at cancelled_at financial_status
        is_test currency total_price total_discounts refunded_amount discount_codes
        landing_url referring_url""",
        {
            "created_at": "iso",
            "cancelled_at": "iso",
            "is_test": "boolean_text",
            "total_price": "money",
            "total_discounts": "money",
            "refunded_amount": "money",
        },
    ),
    _spec(
        "filedrop",
        "customers",
        ("customer_id",),
        ("updated_at", "iso"),
        ("customer_id", "created_at", "updated_at"),
        "customer_id email phone created_at updated_at",
        {"created_at": "iso"},
    ),
    _spec(
        "filedrop",
        "checkouts",
        ("checkout_id",),
        ("updated_at", "iso"),
        ("checkout_id", "created_at", "updated_at"),
        """checkout_id checkout_token customer_id email created_at updated_at completed_at
        total_price currency""",
        {"created_at": "iso", "completed_at": "iso", "total_price": "money"},
    ),
    _spec(
        "filedrop",
        "tickets",
        ("ticket_id",),
        ("updated_at", "iso"),
        ("ticket_id", "requester_id", "created_at", "updated_at"),
        """ticket_id requester_id requester_email created_at updated_at status channel
        first_reply_minutes full_resolution_minutes reopens solved_at""",
        {
            "created_at": "iso",
            "solved_at": "iso",
            "first_reply_minutes": "number_text",
            "full_resolution_minutes": "number_text",
            "reopens": "integer_text",
        },
    ),
    _spec(
        "filedrop",
        "satisfaction_ratings",
        ("rating_id",),
        ("updated_at", "iso"),
        ("rating_id", "ticket_id", "score", "updated_at"),
        "rating_id ticket_id requester_id score created_at updated_at",
        {"created_at": "iso"},
    ),
    _spec(
        "filedrop",
        "nps_responses",
        ("response_id",),
        None,
        ("response_id", "email", "score", "responded_at"),
        "response_id email score comment responded_at",
        {"score": "integer_text", "responded_at": "iso"},
    ),
    _spec(
        "filedrop",
        "reviews",
        ("review_id",),
        None,
        ("review_id", "email", "rating", "reviewed_at"),
        "review_id email rating title reviewed_at product_id",
        {"rating": "integer_text", "reviewed_at": "iso"},
    ),
    _spec(
        "filedrop",
        "marketing_spend",
        ("spend_date", "channel", "campaign"),
        None,
        ("spend_date", "channel", "campaign", "spend"),
        "spend_date channel source medium campaign spend currency",
        {"spend_date": "iso", "spend": "money"},
    ),
)

STREAMS: dict[tuple[str, str], StreamSpec] = {
    (spec.source, spec.stream): spec for spec in (*_VENDOR_SPECS, *_FILEDROP_SPECS)
}
SOURCES: tuple[str, ...] = ("matomo", "mailchimp", "shopify", "zendesk", "filedrop")


def stream_spec(source: str, stream: str) -> StreamSpec:
    try:
        return STREAMS[(source, stream)]
    except KeyError:
        known = ", ".join(f"{s}/{t}" for s, t in STREAMS)
        raise KeyError(f"unknown stream {source}/{stream}; registered: {known}") from None


def streams_of(source: str) -> tuple[str, ...]:
    if source not in SOURCES:
        raise KeyError(f"unknown source {source!r}; sources are {', '.join(SOURCES)}")
    return tuple(stream for (src, stream) in STREAMS if src == source)
