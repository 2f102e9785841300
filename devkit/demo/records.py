"""Vendor records (contracts §1, §2): every version of every record as the vendor API returns it,
JSON text built with Polars. Each encoder yields frames of `record_id, parent_id, updated_at
(unix s), record`; large streams are yielded in chunks so memory stays flat."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from devkit.demo import catalog, shopify_json
from devkit.demo.drops import Drops
from devkit.demo.email import Email
from devkit.demo.shop import Shop
from devkit.demo.support import CREATED, MERGED, MERGED_TAG, RESOLVED, SOLVED, Support
from devkit.demo.util import (
    Period,
    hex_ids,
    iso_offset_utc,
    iso_shop,
    iso_z,
    lookup,
    money,
    nullable,
)
from devkit.demo.web import Web

CHUNK_ROWS = 200_000


@dataclass(frozen=True)
class World:
    """Everything the generator decided, as flat frames (times in unix seconds)."""

    period: Period
    persons: pl.DataFrame
    order_plan: pl.DataFrame
    shop: Shop
    email: Email
    support: Support
    web: Web
    drops: Drops


def _vendor(
    frame: pl.DataFrame,
    record_id: pl.Expr,
    updated_at: pl.Expr,
    record: pl.Expr,
    parent_id: pl.Expr | None = None,
) -> pl.DataFrame:
    return frame.select(
        record_id=record_id.cast(pl.String),
        parent_id=(parent_id if parent_id is not None else pl.lit(None)).cast(pl.String),
        updated_at=updated_at.cast(pl.Int64),
        record=record.struct.json_encode(),
    )


def _chunks(n: int, rows: int = CHUNK_ROWS) -> Iterator[tuple[int, int]]:
    for start in range(0, max(n, 1), rows):
        yield start, min(n, start + rows)


def _key_chunks(keys: np.ndarray, rows: int = CHUNK_ROWS) -> Iterator[tuple[int, int]]:
    """Row ranges of about `rows` rows over sorted `keys`, never splitting one key's rows."""
    starts = np.unique(np.searchsorted(keys, keys[np.arange(0, len(keys), rows)], side="left"))
    bounds = [*starts.tolist(), len(keys)]
    yield from itertools.pairwise(bounds)


# ---- Matomo ---------------------------------------------------------------------------------


def matomo_visits(world: World) -> Iterator[pl.DataFrame]:
    visits, actions = world.web.visits, world.web.actions  # both ordered by id_visit (and time)
    if not (visits["id_visit"].is_sorted() and actions["id_visit"].is_sorted()):
        raise AssertionError("generator bug: visits and actions must be ordered by id_visit")
    ids = actions["id_visit"].to_numpy()
    for start, stop in _chunks(visits.height):
        chunk = visits.slice(start, stop - start)
        lo = int(np.searchsorted(ids, chunk["id_visit"][0], side="left"))
        hi = int(np.searchsorted(ids, chunk["id_visit"][-1], side="right"))
        details = (
            _action_details(actions.slice(lo, hi - lo), offset=lo)
            .select(  # each action's object row by row, then a list per visit
                "id_visit",
                actionDetails=pl.struct(
                    type=pl.col("type").cast(pl.String),
                    url="url",
                    pageTitle="title",
                    pageIdAction="page_id_action",
                    idpageview="idpageview",
                    timestamp="timestamp",
                    timeSpent=_of_type("action", "time_spent"),
                    eventCategory=pl.col("event_category").cast(pl.String),
                    eventAction=pl.col("event_action").cast(pl.String),
                    eventName="event_name",
                    siteSearchKeyword=_of_type("search", "label"),
                    siteSearchCount=_of_type("search", "count"),
                    contentName=_of_type("content", "label"),
                    contentPiece=_of_type("content", pl.lit("Image")),
                    mediaTitle=_of_type("media", "label"),
                    formName=_of_type("form", "label"),
                    goalName="goal_name",
                    revenue=(pl.col("revenue_cents") / 100),
                    items=_of_type("ecommerceAbandonedCart", "count"),
                    orderId=pl.col("order_id").cast(pl.String),
                ),
            )
            .group_by("id_visit", maintain_order=True)
            .agg("actionDetails")
        )
        frame = chunk.pipe(lookup, details, on="id_visit")
        is_campaign = pl.col("referrer_type") == "campaign"
        record = pl.struct(
            idSite=pl.lit(catalog.MATOMO_SITE_ID),
            idVisit="id_visit",
            visitorId="visitor_id",
            userId="user_id",
            fingerprint="fingerprint",
            visitCount="visit_count",
            visitorType=pl.when(pl.col("visit_count") == 1)
            .then(pl.lit("new"))
            .otherwise(pl.lit("returning")),
            firstActionTimestamp="first_action_at",
            lastActionTimestamp="last_action_at",
            serverTimestamp="last_action_at",
            visitDuration=pl.col("last_action_at") - pl.col("first_action_at"),
            actions="actions",
            referrerType="referrer_type",
            referrerName="referrer_name",
            referrerKeyword=pl.when(is_campaign).then("utm_term").otherwise("referrer_keyword"),
            referrerUrl="referrer_url",
            campaignName=nullable(is_campaign, pl.col("utm_campaign").str.to_lowercase()),
            campaignSource=nullable(is_campaign, pl.col("utm_source")),
            campaignMedium=nullable(is_campaign, pl.col("utm_medium")),
            campaignKeyword=nullable(is_campaign, pl.col("utm_term")),
            campaignContent=pl.lit(None, pl.String),
            deviceType="device_type",
            browserName="browser_name",
            operatingSystem="operating_system",
            actionDetails="actionDetails",
        )
        rows = _vendor(frame, pl.col("id_visit"), pl.col("last_action_at"), record)
        yield _matomo_json(world.period, rows)


def _of_type(kind: str, value: str | pl.Expr) -> pl.Expr:
    """`value` on actions of type `kind`, null (so absent from the JSON) on the others."""
    return pl.when(pl.col("type") == kind).then(value)


# Matomo omits the keys an action type does not have; these are the action-only keys.
_ACTION_KEYS = (
    "url|pageTitle|pageIdAction|idpageview|timeSpent|eventCategory|eventAction|eventName|"
    "siteSearchKeyword|siteSearchCount|contentName|contentPiece|mediaTitle|formName|goalName|"
    "revenue|items|orderId"
)
# Numbers Matomo 4 reads from its database and sends as strings (version 5 sends numbers).
_DATABASE_NUMBERS = (
    "idSite|idVisit|visitCount|visitDuration|actions|pageIdAction|revenue|items|siteSearchCount"
)
_ALL_NUMBERS = (
    _DATABASE_NUMBERS
    + "|firstActionTimestamp|lastActionTimestamp|serverTimestamp|timestamp|timeSpent"
)
MATOMO_UPGRADE_SHARE = 0.4  # visits of the first 40 % of the period come from Matomo 4
ALL_STRINGS_EVERY = 9  # and every 9th visit (by idVisit) has every number as a string


def _matomo_json(period: Period, rows: pl.DataFrame) -> pl.DataFrame:
    """The visit JSON as Matomo sends it: an action without the keys of other action types,
    and numbers as strings where the version sends them so (contracts §1.1). Each version's
    replacement runs on its own rows only."""
    upgrade_at = period.start + int((period.end - period.start) * MATOMO_UPGRADE_SHARE)
    rows = rows.with_row_index("__row").with_columns(
        pl.col("record").str.replace_all(f',"({_ACTION_KEYS})":null', ""),
        __version=pl.when((pl.col("record_id").cast(pl.Int64) // 3) % ALL_STRINGS_EVERY == 0)
        .then(pl.lit(_ALL_NUMBERS))
        .when(pl.col("updated_at") < upgrade_at)
        .then(pl.lit(_DATABASE_NUMBERS)),
    )
    parts = [rows.filter(pl.col("__version").is_null())]
    for keys in (_DATABASE_NUMBERS, _ALL_NUMBERS):  # the two string-sending versions
        parts.append(
            rows.filter(pl.col("__version") == keys).with_columns(
                pl.col("record").str.replace_all(f'"({keys})":(-?[0-9][0-9.eE+-]*)', '"$1":"$2"')
            )
        )
    return pl.concat(parts).sort("__row").drop("__row", "__version")


def _action_details(actions: pl.DataFrame, offset: int) -> pl.DataFrame:
    """URL, page title and id, idpageview of a contiguous slice of the actions (row `offset` on).
    Events, goals, orders and interactions without a URL of their own carry the URL of the page
    before them (a visit starts with a page); an outlink's URL is the other site's; only page
    views have a title (a site search's is its keyword)."""
    page_table = catalog.pages().select(
        pl.col("path").cast(catalog.PATHS), "title", "page_id_action"
    )
    path = pl.col("path").cast(pl.String)
    url = (
        pl.when(path.str.starts_with("http"))
        .then(path)
        .otherwise(pl.format("{}{}", pl.lit(catalog.SITE), path))
    )
    url = (
        pl.when(pl.col("query").is_not_null()).then(pl.format("{}?{}", url, "query")).otherwise(url)
    )
    return (
        actions.with_columns(
            url=url.forward_fill(),
            idpageview=hex_ids(offset + np.arange(actions.height), salt=0x9A6E, length=6),
        )
        .pipe(lookup, page_table, on="path")
        .with_columns(title=pl.when(pl.col("type") == "action").then("title"))
    )


# ---- Mailchimp ------------------------------------------------------------------------------


def _iso_or_empty(col: str) -> pl.Expr:
    """Mailchimp sends an empty string for a timestamp it does not have."""
    return pl.when(pl.col(col) >= 0).then(iso_offset_utc(col)).otherwise(pl.lit(""))


def mailchimp_members(world: World) -> Iterator[pl.DataFrame]:
    m = world.email.members.with_columns(
        signup=pl.when(pl.col("source") == "Shopify")
        .then(pl.lit(-1, pl.Int64))
        .otherwise("signed_up_at")
    )
    versions = pl.concat(
        [
            m.filter(pl.col("source") != "Shopify").with_columns(
                status=pl.lit("pending"), changed_at="signed_up_at", opt=pl.lit(-1, pl.Int64)
            ),
            m.with_columns(
                status=pl.lit("subscribed"), changed_at="opted_in_at", opt="opted_in_at"
            ),
            m.filter(pl.col("unsubscribed_at") >= 0).with_columns(
                status=pl.lit("unsubscribed"), changed_at="unsubscribed_at", opt="opted_in_at"
            ),
            m.filter(pl.col("cleaned_at") >= 0).with_columns(
                status=pl.lit("cleaned"), changed_at="cleaned_at", opt="opted_in_at"
            ),
        ]
    ).sort("changed_at", "member", "status")
    record = pl.struct(
        id="email_id",
        email_address="email_address",
        unique_email_id="unique_email_id",
        status="status",
        timestamp_signup=_iso_or_empty("signup"),
        timestamp_opt=_iso_or_empty("opt"),
        last_changed=iso_offset_utc("changed_at"),
        source="source",
        # the newsletter form asks for the address only: Mailchimp sends "" for unset fields
        merge_fields=pl.struct(
            FNAME=pl.when(pl.col("source") == "Website form")
            .then(pl.lit(""))
            .otherwise("first_name"),
            LNAME=pl.when(pl.col("source") == "Website form")
            .then(pl.lit(""))
            .otherwise("last_name"),
        ),
        list_id=pl.lit(catalog.LIST_ID),
    )
    yield _vendor(versions, pl.col("email_id"), pl.col("changed_at"), record)


def mailchimp_campaigns(world: World) -> Iterator[pl.DataFrame]:
    c = world.email.campaigns
    broadcast = c.filter(pl.col("type") != "automation").with_columns(version_at="send_time")
    auto = c.filter(pl.col("type") == "automation")
    versions = pl.concat(
        [
            broadcast,
            auto.with_columns(version_at="send_time", emails_sent=pl.lit(0, pl.UInt32)),
            auto.filter(pl.col("last_sent_at").is_not_null()).with_columns(
                version_at="last_sent_at"
            ),
        ],
        how="vertical_relaxed",
    ).sort("version_at", "campaign")
    record = pl.struct(
        id="campaign_id",
        campaign_title="campaign_title",
        type="type",
        list_id=pl.lit(catalog.LIST_ID),
        subject_line="subject_line",
        emails_sent="emails_sent",
        send_time=iso_offset_utc("send_time"),
        rss_last_send=pl.when(pl.col("type") == "rss").then(iso_offset_utc("send_time")),
    )
    rows = _vendor(versions, pl.col("campaign_id"), pl.col("version_at"), record)
    # rss_last_send exists on RSS campaigns' reports only
    yield rows.with_columns(pl.col("record").str.replace(',"rss_last_send":null', "", literal=True))


def _report_rows(email: Email, frame: pl.DataFrame) -> pl.DataFrame:
    """Attach campaign id, member email id and address to rows keyed by `send`."""
    return (
        frame.pipe(
            lookup, email.sends.select("send", "campaign", "member", "status", "sent_at"), on="send"
        )
        .pipe(lookup, email.campaigns.select("campaign", "campaign_id"), on="campaign")
        .pipe(lookup, email.members.select("member", "email_id", "email_address"), on="member")
    )


def _report_key() -> pl.Expr:
    return pl.format("{}:{}", "campaign_id", "email_id")


def mailchimp_sent_to(world: World) -> Iterator[pl.DataFrame]:
    email = world.email
    opens = email.activity.filter(pl.col("action") == "open").select("send", version_at="timestamp")
    opens = opens.with_columns(open_count=pl.int_range(1, pl.len() + 1).over("send"))
    base = email.sends.select("send", version_at="sent_at", open_count=pl.lit(0, pl.Int64))
    versions = pl.concat([base, opens]).sort("send", "version_at", "open_count")
    for start, stop in _chunks(versions.height):
        rows = _report_rows(email, versions.slice(start, stop - start))
        record = pl.struct(
            email_id="email_id",
            email_address="email_address",
            status="status",
            open_count="open_count",
            last_open=pl.when(pl.col("open_count") > 0)
            .then(iso_offset_utc("version_at"))
            .otherwise(pl.lit("")),
            campaign_id="campaign_id",
            list_id=pl.lit(catalog.LIST_ID),
        )
        yield _vendor(
            rows, _report_key(), pl.col("version_at"), record, parent_id=pl.col("campaign_id")
        )


def mailchimp_email_activity(world: World) -> Iterator[pl.DataFrame]:
    """One version per activity event, holding the recipient's whole activity list so far."""
    email = world.email
    click_urls = email.campaigns.select(
        "campaign",
        click_url=pl.format(
            "{}{}?utm_source=mailchimp&utm_medium=email&utm_campaign={}",
            pl.lit(catalog.SITE),
            "link_path",
            "utm_campaign",
        ),
    )
    events = (
        email.activity.pipe(lookup, click_urls, on="campaign")
        .with_columns(
            item=pl.struct(
                action="action",
                type=pl.when(pl.col("action") == "bounce").then("status").otherwise(pl.lit("")),
                timestamp=iso_offset_utc("timestamp"),
                url=pl.when(pl.col("action") == "click").then("click_url").otherwise(pl.lit("")),
                ip=pl.when(pl.col("action") == "bounce")
                .then(pl.lit(""))
                .otherwise(
                    pl.format("198.51.100.{}", (pl.col("member") % 250 + 1).cast(pl.String))
                ),
            ),
            seq=pl.int_range(pl.len()).over("send"),
        )
        .sort("send", "seq")
    )
    for lo, hi in _key_chunks(events["send"].to_numpy()):
        chunk = events.slice(lo, hi - lo)
        versions = chunk.select("send", version="seq", version_at="timestamp").join(
            chunk.select("send", "seq", "item"), on="send", how="inner", maintain_order="left_right"
        )
        versions = (
            versions.filter(pl.col("seq") <= pl.col("version"))
            .group_by("send", "version", maintain_order=True)
            .agg(pl.col("version_at").first(), activity=pl.col("item"))
        )
        rows = _report_rows(email, versions)
        record = pl.struct(
            campaign_id="campaign_id",
            list_id=pl.lit(catalog.LIST_ID),
            email_id="email_id",
            email_address="email_address",
            activity="activity",
        )
        yield _vendor(
            rows, _report_key(), pl.col("version_at"), record, parent_id=pl.col("campaign_id")
        )


def mailchimp_unsubscribes(world: World) -> Iterator[pl.DataFrame]:
    u = world.email.unsubscribes.sort("unsubscribed_at", "member")
    record = pl.struct(
        email_id="email_id",
        email_address="email_address",
        timestamp=iso_offset_utc("unsubscribed_at"),
        reason="reason",
        campaign_id="campaign_id",
        list_id=pl.lit(catalog.LIST_ID),
    )
    key = pl.format("{}:{}", "campaign_id", "email_id")
    yield _vendor(u, key, pl.col("unsubscribed_at"), record, parent_id=pl.col("campaign_id"))


# ---- Shopify --------------------------------------------------------------------------------


def _line_items(shop: Shop) -> pl.DataFrame:
    return (
        shop.line_items.sort("basket", "line")
        .group_by("basket", maintain_order=True)
        .agg(
            line_items=pl.struct(
                id="line_item_id",
                product_id="product_id",
                variant_id="variant_id",
                title="title",
                quantity="quantity",
                price=money("price_cents"),
                sku="sku",
            ),
        )
    )


def shopify_orders(world: World) -> Iterator[pl.DataFrame]:
    """Every version of every order: created, fulfilled, cancelled, refunded (contracts §1.3).
    Amounts come from shop_money.py; nested parts from shopify_json.py."""
    shop = world.shop
    o = (
        shop.orders.pipe(
            lookup, shopify_json.line_items(shop.orders, shop.order_lines), on="basket"
        )
        .pipe(lookup, shopify_json.refunds(shop.orders, shop.order_lines), on="basket")
        .pipe(lookup, world.web.order_landing, on="order_id")
        .pipe(lookup, world.persons.select("person", "first_name", "last_name"), on="person")
        .pipe(lookup, shop.customers.select("person", "customer_created_at"), on="person")
        .pipe(
            lookup,
            shop.customers.select(referrer_person="person", referrer_customer_id="customer_id"),
            on="referrer_person",
        )
        .with_columns(
            code=pl.when(pl.col("referrer_customer_id").is_not_null())
            .then(pl.format("REF-{}", pl.col("referrer_customer_id").cast(pl.String)))
            .otherwise("discount_code"),
        )
    )
    kinds = {
        "created": "ordered_at",
        "fulfilled": "fulfilled_at",
        "cancelled": "cancelled_at",
        "refunded": "refunded_at",
    }
    versions = pl.concat(
        [
            o.filter(pl.col(col) >= 0).with_columns(version=pl.lit(k), version_at=pl.col(col))
            for k, col in kinds.items()
        ]
    ).sort("version_at", "order_id", "version")
    at = pl.col("version_at")
    cancelled = (pl.col("cancelled_at") >= 0) & (pl.col("cancelled_at") <= at)
    refunded = (pl.col("refunded_at") >= 0) & (pl.col("refunded_at") <= at)
    fulfilled = (pl.col("fulfilled_at") >= 0) & (pl.col("fulfilled_at") <= at)
    financial = (
        pl.when(cancelled)
        .then(pl.lit("voided"))
        .when(refunded & (pl.col("refund_cents") >= pl.col("total_cents")))
        .then(pl.lit("refunded"))
        .when(refunded)
        .then(pl.lit("partially_refunded"))
        .otherwise(pl.lit("paid"))
    )
    customer = pl.when(pl.col("customer_id").is_not_null()).then(
        pl.struct(
            id="customer_id",
            email="customer_email",
            created_at=iso_shop("customer_created_at"),
            updated_at=iso_shop("version_at"),
            first_name="first_name",
            last_name="last_name",
        )
    )
    refund_type = o.schema["refund"]
    duties = shopify_json.duties_set()
    record = pl.struct(
        id="order_id",
        admin_graphql_api_id=pl.format("gid://shopify/Order/{}", "order_id"),
        name="order_name",
        order_number=pl.col("order_name").str.strip_prefix("#").cast(pl.Int64),
        email="order_email",
        contact_email="order_email",
        phone=pl.lit(None, pl.String),
        created_at=iso_shop("ordered_at"),
        updated_at=iso_shop("version_at"),
        processed_at=iso_shop("ordered_at"),
        closed_at=nullable(fulfilled, iso_shop("fulfilled_at")),
        cancelled_at=nullable(cancelled, iso_shop("cancelled_at")),
        cancel_reason=nullable(cancelled, pl.lit("customer")),
        financial_status=financial,
        fulfillment_status=nullable(fulfilled, pl.lit("fulfilled")),
        confirmed=pl.lit(True),
        test="is_test",
        currency=pl.lit(catalog.CURRENCY),
        presentment_currency="presentment_currency",
        taxes_included="is_taxes_included",
        duties_included=pl.lit(False),
        estimated_taxes=pl.lit(False),
        total_price=money("total_cents"),
        total_price_set=shopify_json.money_set("total_cents"),
        subtotal_price=money("subtotal_cents"),
        subtotal_price_set=shopify_json.money_set("subtotal_cents"),
        total_line_items_price=money(pl.col("line_items_cents") + pl.col("tip_cents")),
        total_line_items_price_set=shopify_json.money_set(
            pl.col("line_items_cents") + pl.col("tip_cents")
        ),
        total_discounts=money("total_discount_cents"),
        total_discounts_set=shopify_json.money_set("total_discount_cents"),
        total_tax=money("tax_cents"),
        total_tax_set=shopify_json.money_set("tax_cents"),
        total_tip_received=money("tip_cents"),
        total_shipping_price_set=shopify_json.money_set("shipping_cents"),
        original_total_duties_set=duties,
        current_total_duties_set=duties,
        original_total_additional_fees_set=pl.lit(None, pl.Struct({"shop_money": pl.String})),
        total_outstanding=money(pl.lit(0)),
        tax_lines=shopify_json.order_tax_lines(),
        landing_site="landing_site",
        referring_site="referring_site",
        source_name=pl.lit("web"),
        checkout_token="checkout_token",
        cart_token="cart_token",
        tags=pl.lit(""),
        note=pl.lit(None, pl.String),
        discount_codes=shopify_json.discount_codes(),
        discount_applications=shopify_json.discount_applications(),
        customer=customer,
        line_items="line_items",
        shipping_lines=shopify_json.shipping_lines(),
        refunds=pl.when(refunded)
        .then(pl.concat_list("refund"))
        .otherwise(pl.lit([], pl.List(refund_type))),
    )
    yield _vendor(versions, pl.col("order_id"), at, record)


def shopify_customers(world: World) -> Iterator[pl.DataFrame]:
    shop = world.shop
    orders = (
        shop.orders.filter(~pl.col("is_test"))
        .sort("ordered_at", "order_id")
        .with_columns(
            orders_count=pl.int_range(1, pl.len() + 1).over("person"),
            total_spent=pl.when(pl.col("cancelled_at") < 0)
            .then("total_cents")
            .otherwise(0)
            .cum_sum()
            .over("person"),
            version_at=pl.col("ordered_at") + 2,
        )
        .select("person", "orders_count", "total_spent", "version_at")
    )
    created = shop.customers.select(
        "person",
        orders_count=pl.lit(0, pl.Int64),
        total_spent=pl.lit(0, pl.Int64),
        version_at="customer_created_at",
    )
    versions = (
        pl.concat([created, orders], how="vertical_relaxed")
        .pipe(lookup, shop.customers, on="person")
        .pipe(lookup, world.persons.select("person", "first_name", "last_name"), on="person")
        .sort("version_at", "customer_id", "orders_count")
    )
    record = pl.struct(
        id="customer_id",
        email="customer_email",
        phone="phone",
        first_name="first_name",
        last_name="last_name",
        created_at=iso_shop("customer_created_at"),
        updated_at=iso_shop("version_at"),
        orders_count="orders_count",
        total_spent=money("total_spent"),
        state=pl.lit("enabled"),
        verified_email=pl.lit(True),
        tags=pl.lit(""),
    )
    yield _vendor(versions, pl.col("customer_id"), pl.col("version_at"), record)


def shopify_checkouts(world: World) -> Iterator[pl.DataFrame]:
    shop = world.shop
    c = shop.checkouts.pipe(lookup, _line_items(shop), on="basket").pipe(
        lookup, world.web.checkout_landing, on="checkout_id"
    )
    versions = pl.concat(
        [
            c.with_columns(version_at="checkout_at"),
            c.filter(pl.col("completed_at") >= 0).with_columns(version_at="completed_at"),
        ]
    ).sort("version_at", "checkout_id")
    completed = (pl.col("completed_at") >= 0) & (pl.col("completed_at") <= pl.col("version_at"))
    record = pl.struct(
        id="checkout_id",
        token="checkout_token",
        cart_token="cart_token",
        email="checkout_email",
        created_at=iso_shop("checkout_at"),
        updated_at=iso_shop("version_at"),
        completed_at=nullable(completed, iso_shop("completed_at")),
        landing_site="landing_site",
        referring_site="referring_site",
        total_price=money("subtotal_cents"),
        currency=pl.lit(catalog.CURRENCY),
        customer=pl.when(pl.col("customer_id").is_not_null()).then(
            pl.struct(id="customer_id", email="customer_email")
        ),
        line_items="line_items",
    )
    yield _vendor(versions, pl.col("checkout_id"), pl.col("version_at"), record)


# ---- Zendesk --------------------------------------------------------------------------------


def zendesk_tickets(world: World) -> Iterator[pl.DataFrame]:
    v = world.support.ticket_versions
    record = pl.struct(
        id="ticket_id",
        created_at=iso_z("created_at"),
        updated_at=iso_z("updated_at"),
        subject="subject",
        status="status",
        type="ticket_type",
        priority="priority",
        requester_id="user_id",
        submitter_id="user_id",
        assignee_id=nullable(pl.col("kind") != CREATED, pl.col("assignee_id")),
        via=pl.struct(channel="channel_name"),
        tags=pl.concat_list(
            pl.when("is_after_sale").then(pl.lit("after_sale")).otherwise(pl.lit("pre_sale")),
            nullable(pl.col("kind") == MERGED, pl.lit(MERGED_TAG)),
        ).list.drop_nulls(),
        satisfaction_rating=pl.struct(score="rating"),
    )
    yield _vendor(v, pl.col("ticket_id"), pl.col("updated_at"), record)


def zendesk_ticket_metrics(world: World) -> Iterator[pl.DataFrame]:
    v = world.support.ticket_versions.filter(pl.col("kind").is_in([CREATED, SOLVED, RESOLVED]))

    def minutes(start: str, end: str) -> pl.Expr:
        return nullable(pl.col("kind") != CREATED, (pl.col(end) - pl.col(start)) // 60)

    def calendar_business(value: pl.Expr) -> pl.Expr:
        return pl.struct(calendar=value, business=(value * 0.6).round(0).cast(pl.Int64))

    final_solve = pl.when(pl.col("kind") == RESOLVED).then("resolved_at").otherwise("solved_at")
    v = v.with_columns(final_solve=final_solve)
    record = pl.struct(
        id="metric_set_id",
        ticket_id="ticket_id",
        created_at=iso_z("created_at"),
        updated_at=iso_z("updated_at"),
        reopens="reopens",
        replies=pl.when(pl.col("kind") == CREATED).then(0).otherwise(1 + pl.col("reopens")),
        reply_time_in_minutes=calendar_business(minutes("created_at", "replied_at")),
        first_resolution_time_in_minutes=calendar_business(minutes("created_at", "solved_at")),
        full_resolution_time_in_minutes=calendar_business(minutes("created_at", "final_solve")),
        solved_at=nullable(pl.col("kind") != CREATED, iso_z("final_solve")),
    )
    yield _vendor(
        v, pl.col("metric_set_id"), pl.col("updated_at"), record, parent_id=pl.col("ticket_id")
    )


def zendesk_users(world: World) -> Iterator[pl.DataFrame]:
    u = world.support.users
    record = pl.struct(
        id="user_id",
        name="name",
        email="email",
        phone="phone",
        role="role",
        created_at=iso_z("created_at"),
        updated_at=iso_z("updated_at"),
    )
    yield _vendor(u, pl.col("user_id"), pl.col("updated_at"), record)


def zendesk_satisfaction_ratings(world: World) -> Iterator[pl.DataFrame]:
    r = world.support.ratings.sort("created_at", "rating_id")
    record = pl.struct(
        id="rating_id",
        ticket_id="ticket_id",
        requester_id="user_id",
        assignee_id="assignee_id",
        score="score",
        comment="comment",
        reason="reason",
        created_at=iso_z("created_at"),
        updated_at=iso_z("created_at"),
    )
    yield _vendor(r, pl.col("rating_id"), pl.col("created_at"), record)


VENDOR_STREAMS: dict[tuple[str, str], Callable[[World], Iterator[pl.DataFrame]]] = {
    ("matomo", "visits"): matomo_visits,
    ("mailchimp", "members"): mailchimp_members,
    ("mailchimp", "campaigns"): mailchimp_campaigns,
    ("mailchimp", "sent_to"): mailchimp_sent_to,
    ("mailchimp", "email_activity"): mailchimp_email_activity,
    ("mailchimp", "unsubscribes"): mailchimp_unsubscribes,
    ("shopify", "orders"): shopify_orders,
    ("shopify", "customers"): shopify_customers,
    ("shopify", "checkouts"): shopify_checkouts,
    ("zendesk", "tickets"): zendesk_tickets,
    ("zendesk", "ticket_metrics"): zendesk_ticket_metrics,
    ("zendesk", "users"): zendesk_users,
    ("zendesk", "satisfaction_ratings"): zendesk_satisfaction_ratings,
}
# Streams that get a few exact duplicate rows (the duplicate-delivery trap).
DUPLICATED_STREAMS = {
    ("matomo", "visits"),
    ("mailchimp", "email_activity"),
    ("shopify", "orders"),
    ("zendesk", "tickets"),
}
