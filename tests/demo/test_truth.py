"""The ground truth agrees with the generated records: touchpoints re-derived from the vendor JSON
by contracts §6.1, persons from the records' anchor identifiers, sessions and phases from plain
reference implementations of §6.5 and §6.3, orders from the served order versions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from devkit.demo import catalog
from tests.demo.helpers import decoded, drop, human_visits, is_bot, latest, truth, vendor
from tests.demo.oracle import evidence, node

# One worker builds the shared default-size dataset once (`pytest -n 2 --dist loadgroup`).
pytestmark = pytest.mark.xdist_group("demo-dataset")

KEYS = ["source", "stream", "record_id", "touchpoint_type", "occurred_at"]


def _utc_seconds(expr: pl.Expr) -> pl.Expr:
    return pl.from_epoch(expr, time_unit="s").dt.replace_time_zone("UTC")


def _iso(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_datetime(time_zone="UTC", time_unit="us")


def _tp(frame: pl.DataFrame, source: str, stream: str, kind: pl.Expr, at: pl.Expr) -> pl.DataFrame:
    return frame.select(
        source=pl.lit(source),
        stream=pl.lit(stream),
        record_id="record_id",
        touchpoint_type=kind,
        occurred_at=at,
    )


def rederived_touchpoints(root: Path) -> pl.DataFrame:
    """Contracts §6.1 applied to the served records (latest version of each), from their JSON."""
    action = pl.Struct(
        {
            "type": pl.String,
            "url": pl.String,
            "timestamp": pl.Int64,
            "eventCategory": pl.String,
            "eventAction": pl.String,
        }
    )
    visits = human_visits(root, {"actionDetails": pl.List(action)}, served=True)
    details = (
        visits.select("record_id", "actionDetails").explode("actionDetails").unnest("actionDetails")
    )
    path = pl.col("url").str.extract(r"^https?://[^/]+(/[^?#]*)")
    product = pl.any_horizontal(path.str.starts_with(p) for p in catalog.PRODUCT_PATH_PREFIXES)
    kind = (
        pl.when(pl.col("type") == "action")
        .then(pl.when(product).then(pl.lit("product_view")).otherwise(pl.lit("page_view")))
        .when((pl.col("type") == "event") & (pl.col("eventCategory") == "form"))
        .then(pl.lit("form_submit"))
        .when((pl.col("type") == "event") & (pl.col("eventAction") == "add_to_cart"))
        .then(pl.lit("add_to_cart"))
        .when(pl.col("type") == "search")
        .then(pl.lit("site_search"))
        .when(pl.col("type") == "download")
        .then(pl.lit("download"))
    )
    parts = [
        _tp(details, "matomo", "visits", kind, _utc_seconds(pl.col("timestamp"))).drop_nulls(
            "touchpoint_type"
        )
    ]

    reports = decoded(
        latest(vendor(root, "mailchimp", "campaigns")),
        {"id": pl.String, "type": pl.String, "send_time": pl.String},
    )
    sent = decoded(
        latest(vendor(root, "mailchimp", "sent_to")),
        {"status": pl.String, "campaign_id": pl.String},
    )
    sent = sent.join(
        reports.select("id", "type", "send_time"), left_on="campaign_id", right_on="id"
    )
    # recipients of the campaigns sent in one go at their send time (seed email_campaign_types)
    sent = sent.filter(
        pl.col("type").is_in(["regular", "plaintext", "rss"]) & (pl.col("status") == "sent")
    )
    parts.append(_tp(sent, "mailchimp", "sent_to", pl.lit("email_sent"), _iso(pl.col("send_time"))))
    item = pl.Struct({"action": pl.String, "timestamp": pl.String})
    activity = decoded(
        latest(vendor(root, "mailchimp", "email_activity")), {"activity": pl.List(item)}
    )
    activity = activity.select("record_id", "activity").explode("activity").unnest("activity")
    parts.append(
        _tp(
            activity,
            "mailchimp",
            "email_activity",
            pl.format("email_{}", "action"),
            _iso(pl.col("timestamp")),
        )
    )
    unsubscribes = decoded(
        latest(vendor(root, "mailchimp", "unsubscribes")), {"timestamp": pl.String}
    )
    parts.append(
        _tp(
            unsubscribes,
            "mailchimp",
            "unsubscribes",
            pl.lit("email_unsubscribe"),
            _iso(pl.col("timestamp")),
        )
    )
    members = decoded(
        latest(vendor(root, "mailchimp", "members")),
        {"timestamp_opt": pl.String, "timestamp_signup": pl.String},
    )
    signup_at = (
        pl.when(pl.col("timestamp_opt") != "").then("timestamp_opt").otherwise("timestamp_signup")
    )
    parts.append(_tp(members, "mailchimp", "members", pl.lit("newsletter_signup"), _iso(signup_at)))

    checkouts = decoded(latest(vendor(root, "shopify", "checkouts")), {"created_at": pl.String})
    parts.append(
        _tp(
            checkouts,
            "shopify",
            "checkouts",
            pl.lit("checkout_started"),
            _iso(pl.col("created_at")),
        )
    )
    codes = pl.List(pl.Struct({"code": pl.String}))
    orders = decoded(
        latest(vendor(root, "shopify", "orders")),
        {
            "test": pl.Boolean,
            "created_at": pl.String,
            "cancelled_at": pl.String,
            "discount_codes": codes,
        },
    ).filter(~pl.col("test"))
    cancelled = pl.col("cancelled_at").is_not_null()
    parts.append(
        _tp(
            orders,
            "shopify",
            "orders",
            pl.when(cancelled).then(pl.lit("order_cancelled")).otherwise(pl.lit("order")),
            _iso(pl.when(cancelled).then("cancelled_at").otherwise("created_at")),
        )
    )
    referral = orders.filter(
        pl.col("discount_codes")
        .list.eval(pl.element().struct.field("code").str.starts_with("REF-"))
        .list.any()
    )
    parts.append(_tp(referral, "shopify", "orders", pl.lit("referral"), _iso(pl.col("created_at"))))

    tickets = decoded(
        latest(vendor(root, "zendesk", "tickets")),
        {"created_at": pl.String, "status": pl.String, "tags": pl.List(pl.String)},
    )
    # A deleted ticket (status `deleted`) or one closed by a merge is no touchpoint; nor are
    # the ratings of deleted tickets.
    deleted = tickets.filter(pl.col("status") == "deleted")["record_id"]
    tickets = tickets.filter(
        (pl.col("status") != "deleted") & ~pl.col("tags").list.contains("closed_by_merge")
    )
    parts.append(
        _tp(tickets, "zendesk", "tickets", pl.lit("ticket_created"), _iso(pl.col("created_at")))
    )
    ratings = decoded(
        latest(vendor(root, "zendesk", "satisfaction_ratings")),
        {"score": pl.String, "created_at": pl.String, "ticket_id": pl.Int64},
    )
    ratings = ratings.filter(
        pl.col("score").is_in(["good", "bad"])
        & ~pl.col("ticket_id").cast(pl.String).is_in(deleted.implode())
    )
    parts.append(
        _tp(
            ratings,
            "zendesk",
            "satisfaction_ratings",
            pl.lit("csat_response"),
            _iso(pl.col("created_at")),
        )
    )
    nps = drop(root, "nps_responses").rename({"response_id": "record_id"})
    parts.append(
        _tp(nps, "filedrop", "nps_responses", pl.lit("nps_response"), _iso(pl.col("responded_at")))
    )
    reviews = drop(root, "reviews").rename({"review_id": "record_id"})
    parts.append(_tp(reviews, "filedrop", "reviews", pl.lit("review"), _iso(pl.col("reviewed_at"))))
    return pl.concat(parts).with_columns(pl.col("occurred_at").dt.cast_time_unit("us"))


def test_truth_touchpoints_are_contract_rules_applied_to_the_records(dataset: Path) -> None:
    expected = rederived_touchpoints(dataset).sort(KEYS)
    actual = truth(dataset, "touchpoints").select(KEYS).sort(KEYS)
    assert actual.height == expected.height
    assert actual.equals(expected)


def test_every_touchpoint_record_exists(dataset: Path) -> None:
    touchpoints = truth(dataset, "touchpoints").select("source", "stream", "record_id").unique()
    known = []
    for source, stream in (
        touchpoints.filter(pl.col("source") != "filedrop")
        .select("source", "stream")
        .unique()
        .iter_rows()
    ):
        known.append(
            vendor(dataset, source, stream).select(
                pl.lit(source).alias("source"), pl.lit(stream).alias("stream"), "record_id"
            )
        )
    known.append(
        drop(dataset, "nps_responses").select(
            source=pl.lit("filedrop"), stream=pl.lit("nps_responses"), record_id="response_id"
        )
    )
    known.append(
        drop(dataset, "reviews").select(
            source=pl.lit("filedrop"), stream=pl.lit("reviews"), record_id="review_id"
        )
    )
    missing = touchpoints.join(
        pl.concat(known).unique(), on=["source", "stream", "record_id"], how="anti"
    )
    assert missing.height == 0, missing.head()


def test_touchpoint_persons_own_the_records_anchor(dataset: Path) -> None:
    """The true person of a touchpoint owns its record's anchor identifier (§5.2), referrals aside."""
    ev = evidence(dataset)
    anchor_kind = {
        ("matomo", "visits"): ["account", "web_visitor_id"], ("mailchimp", "members"): ["email_subscriber_id"],
        ("mailchimp", "sent_to"): ["email"], ("mailchimp", "email_activity"): ["email"],
        ("mailchimp", "unsubscribes"): ["email"], ("shopify", "orders"): ["account"],
        ("shopify", "checkouts"): ["checkout_token"], ("zendesk", "tickets"): ["support_requester_id"],
        ("zendesk", "satisfaction_ratings"): ["support_requester_id"], ("filedrop", "nps_responses"): ["email"],
        ("filedrop", "reviews"): ["email"],
    }  # fmt: skip
    priority = pl.DataFrame(
        [(s, t, k, i) for (s, t), kinds in anchor_kind.items() for i, k in enumerate(kinds)],
        schema=["source", "stream", "kind", "priority"],
        orient="row",
    )
    anchors = (
        ev.join(priority, on=["source", "stream", "kind"])
        .with_columns(node=node(pl.col("kind"), pl.col("value")))
        .sort("priority")
        .group_by("source", "stream", "record_id")
        .agg(pl.col("node").first())
    )
    owners = truth(dataset, "identities").select(
        "person_key", node=node(pl.col("identifier_kind"), pl.col("identifier_value"))
    )
    owners = owners.unique("node")  # equal normal forms of one identifier share an owner
    touchpoints = truth(dataset, "touchpoints").filter(pl.col("touchpoint_type") != "referral")
    checked = touchpoints.join(anchors, on=["source", "stream", "record_id"]).join(
        owners, on="node", suffix="_owner"
    )
    assert checked.height == touchpoints.height
    wrong = checked.filter(pl.col("person_key") != pl.col("person_key_owner"))
    assert wrong.height == 0, wrong.head()


def test_bots_and_test_orders_have_no_touchpoints(dataset: Path) -> None:
    touchpoints = truth(dataset, "touchpoints")
    assert touchpoints["person_key"].str.starts_with("p-").all()
    bot_fields = {"browserName": pl.String, "actions": pl.Int64, "visitDuration": pl.Int64}
    bots = decoded(vendor(dataset, "matomo", "visits"), bot_fields).filter(is_bot())
    assert bots.height > 0
    assert (
        touchpoints.filter(
            (pl.col("stream") == "visits") & pl.col("record_id").is_in(bots["record_id"].implode())
        ).height
        == 0
    )
    tests = truth(dataset, "orders").filter("is_test")["order_id"]
    assert tests.len() > 0
    assert (
        touchpoints.filter(
            (pl.col("stream") == "orders") & pl.col("record_id").is_in(tests.implode())
        ).height
        == 0
    )


def test_every_buyers_first_order_is_their_conversion_entry(dataset: Path) -> None:
    first = (
        truth(dataset, "orders")
        .filter("is_first_order")
        .select("person_key", entered_at="created_at")
    )
    conversions = truth(dataset, "phases").filter(pl.col("phase") == "conversion")
    assert first["person_key"].is_unique().all()
    joined = first.join(conversions, on=["person_key", "entered_at"], how="left")
    assert joined["phase"].null_count() == 0
    assert conversions.join(first, on="person_key", how="anti").height == 0


def test_orders_truth_matches_the_served_orders(dataset: Path) -> None:
    transaction = pl.Struct({"amount": pl.String, "kind": pl.String, "status": pl.String})
    succeeded = (pl.element().struct.field("kind") == "refund") & (
        pl.element().struct.field("status") == "success"
    )
    served = decoded(
        latest(vendor(dataset, "shopify", "orders")),
        {"test": pl.Boolean, "cancelled_at": pl.String, "total_price": pl.String, "refunds": pl.List(pl.Struct({"transactions": pl.List(transaction)}))},
    ).select(
        order_id="record_id",
        is_test="test",
        is_cancelled=pl.col("cancelled_at").is_not_null(),
        total_price=pl.col("total_price").cast(pl.Float64),
        refunded_amount=pl.col("refunds").list.eval(pl.element().struct.field("transactions").list.eval(pl.element().filter(succeeded).struct.field("amount").cast(pl.Float64)).list.sum()).list.sum(),
    )  # fmt: skip
    orders = truth(dataset, "orders").select(served.columns)
    assert_frame_equal(orders.sort("order_id"), served.sort("order_id"))


def _reference_sessions(
    actions: list[tuple[str, int, str | None, bool]],
) -> list[tuple[str, int, int, int, str]]:
    """A plain re-statement of §6.5 over (visitor, timestamp, campaign, is_page_view) in order."""
    sessions: list[list] = []
    previous_visitor, previous_at = None, None
    for visitor, at, campaign, is_page in actions:
        reason = None
        if visitor != previous_visitor:
            reason = "first"
        elif at - previous_at > 30 * 60:
            reason = "inactivity"
        elif at - sessions[-1][1] > 240 * 60:
            reason = "max_length"
        elif campaign is not None and campaign != sessions[-1][4]:
            reason = "campaign_change"
        if reason:
            sessions.append([visitor, at, at, 0, campaign, reason])
        sessions[-1][2] = at
        sessions[-1][3] += is_page
        previous_visitor, previous_at = visitor, at
    return [(v, start, end, pages, reason) for v, start, end, pages, _, reason in sessions]


def test_sessions_match_a_reference_implementation(dataset: Path) -> None:
    action = pl.Struct({"type": pl.String, "url": pl.String, "timestamp": pl.Int64})
    fields = {"idVisit": pl.Int64, "visitorId": pl.String, "actionDetails": pl.List(action)}
    visits = human_visits(dataset, fields)
    details = (
        visits.select("idVisit", "visitorId", pl.col("actionDetails"))
        .explode("actionDetails")
        .unnest("actionDetails")
    )
    # session activity: every action type but the conversions Matomo records (contracts §6.5)
    details = details.with_columns(seq=pl.int_range(pl.len()).over("idVisit")).filter(
        ~pl.col("type").is_in(["goal", "ecommerceOrder", "ecommerceAbandonedCart"])
    )
    params = [
        pl.col("url").str.extract(rf"[?&]{p}=([^&#]*)")
        for p in ("utm_source", "utm_medium", "utm_campaign", "mc_cid")
    ]
    # only a page view's URL is a page of the site (an outlink's is another site's)
    campaign = pl.when(
        (pl.col("type") == "action") & pl.any_horizontal(p.is_not_null() for p in params)
    ).then(pl.concat_str([p.fill_null("") for p in params], separator="|"))
    # one device, whatever case its id comes in (contracts §5.4, §6.5)
    details = details.with_columns(pl.col("visitorId").str.to_lowercase())
    rows = details.sort("visitorId", "timestamp", "idVisit", "seq").select(
        "visitorId", "timestamp", campaign.alias("c"), pl.col("type") == "action"
    )
    expected = pl.DataFrame(
        _reference_sessions(rows.rows()),
        schema=[
            "visitor_id",
            "session_started_at",
            "session_ended_at",
            "page_views",
            "split_reason",
        ],
        orient="row",
    ).with_columns(
        _utc_seconds(pl.col("session_started_at")), _utc_seconds(pl.col("session_ended_at"))
    )
    actual = truth(dataset, "sessions").with_columns(
        pl.col("session_started_at", "session_ended_at").dt.cast_time_unit("ms")
    )
    expected = expected.with_columns(
        pl.col("session_started_at", "session_ended_at").dt.cast_time_unit("ms")
    )
    assert actual.sort("visitor_id", "session_started_at").equals(
        expected.sort("visitor_id", "session_started_at")
    )
    assert set(actual["split_reason"]) == {"first", "inactivity", "max_length", "campaign_change"}


def test_phases_match_a_reference_implementation(dataset: Path) -> None:
    rank = {"awareness": 1, "consideration": 2, "conversion": 3, "retention": 4, "loyalty": 5}
    touchpoints = truth(dataset, "touchpoints").filter(pl.col("phase").is_not_null())
    rows = touchpoints.with_columns(rank=pl.col("phase").replace_strict(rank)).sort(
        ["person_key", "occurred_at", "rank", "source", "stream", "record_id"],
        descending=[False, False, True, False, False, False],
    )
    expected = []
    person, previous_at, running = None, None, 0
    for key, at, r in rows.select("person_key", "occurred_at", "rank").iter_rows():
        new_episode = key != person or (at - previous_at).total_seconds() > 90 * 86_400
        current = r if new_episode else max(running, r)
        if new_episode or current != running:
            expected.append((key, list(rank)[current - 1], at))
        person, previous_at, running = key, at, current
    expected_frame = pl.DataFrame(
        expected,
        schema=["person_key", "phase", "entered_at"],
        orient="row",
        schema_overrides={"entered_at": pl.Datetime("us", "UTC")},
    )
    assert truth(dataset, "phases").equals(expected_frame)


def test_every_observed_identifier_is_in_the_truth(dataset: Path) -> None:
    observed = (
        evidence(dataset)
        .select(kind=pl.col("kind").replace("account", "shop_customer_id"), value="value")
        .unique()
    )
    identities = truth(dataset, "identities")
    known = identities.select(kind="identifier_kind", value="identifier_value").with_columns(
        kind=pl.col("kind").replace("web_user_id", "shop_customer_id")
    )
    assert observed.join(known, on=["kind", "value"], how="anti").height == 0
    # …and nothing in the truth is unobservable, except the bots' devices (evidence skips bots).
    unobserved = known.join(observed, on=["kind", "value"], how="anti")
    bot_devices = identities.filter(pl.col("person_key").str.starts_with("bot-"))[
        "identifier_value"
    ]
    assert unobserved["value"].is_in(bot_devices.implode()).all()


@pytest.mark.parametrize("when", [datetime(2026, 1, 1, tzinfo=UTC)])
def test_no_phase_before_the_period(dataset: Path, when: datetime) -> None:
    assert truth(dataset, "phases")["entered_at"].min() >= when
