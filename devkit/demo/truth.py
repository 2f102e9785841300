"""Ground truth (contracts §6.7): who is who, and the touchpoints, phase spells, sessions and orders
the contract rules give for the generated records. Written independently of the pipeline, from
the contract text, using what the generator knows (the true person behind every record)."""

from __future__ import annotations

import numpy as np
import polars as pl

from devkit.demo import catalog
from devkit.demo.population import person_key
from devkit.demo.records import World
from devkit.demo.util import lookup, utc

PHASE_RANK = {"awareness": 1, "consideration": 2, "conversion": 3, "retention": 4, "loyalty": 5}
LAPSE_DAYS = 90
SESSION_INACTIVITY_MINUTES = 30
SESSION_MAX_MINUTES = 240
CONSIDERATION_TYPES = [
    "product_view", "site_search", "download", "form_submit", "add_to_cart", "email_open",
    "email_click", "newsletter_signup", "checkout_started", "ticket_created",
]  # fmt: skip
# Matomo action types that are session activity (contracts §6.5): all but the conversions.
CONVERSION_TYPES = ["goal", "ecommerceOrder", "ecommerceAbandonedCart"]
# Mailchimp campaign types whose recipients are sent at the campaign's send time (§6.1).
SENT_AT_SEND_TIME = ["regular", "plaintext", "rss"]


def _key(frame: pl.DataFrame, person: str = "person") -> pl.DataFrame:
    return frame.with_columns(person_key=person_key(pl.col(person)))


# ---- identities -----------------------------------------------------------------------------


def identities(world: World) -> pl.DataFrame:
    """One row per identifier as the exports contain it, with the true owner."""
    web, email, shop, support, drops = (
        world.web,
        world.email,
        world.shop,
        world.support,
        world.drops,
    )
    human_visits = web.visits.filter(~pl.col("is_bot"))
    devices = web.devices.filter(pl.col("device").is_in(web.visits["device"].implode()))
    bots = devices.filter("is_bot").with_columns(
        person_key=pl.format(
            "bot-{}", (pl.col("device") - pl.col("device").min() + 1).cast(pl.String).str.zfill(6)
        )
    )
    # a device's id as every visit sends it (some in upper case), owned by the device's owner
    device_ids = pl.concat(
        [
            frame.select(pl.col("device").cast(pl.Int64), "visitor_id")
            for frame in (devices, human_visits)
        ]
    ).unique()
    rows = [
        _key(
            devices.filter(~pl.col("is_bot"))
            .select(pl.col("device").cast(pl.Int64), "owner")
            .join(device_ids, on="device", maintain_order="left")
            .select(person="owner", value="visitor_id")
        ).with_columns(kind=pl.lit("web_visitor_id")),
        bots.select("person_key", value="visitor_id", kind=pl.lit("web_visitor_id")),
        _key(
            human_visits.filter(pl.col("user_id").is_not_null()).select("person", value="user_id"),
        ).with_columns(kind=pl.lit("web_user_id")),
    ]
    form_emails = (
        web.actions.select("is_bot", "event_category", value="event_name")
        .filter(~pl.col("is_bot") & (pl.col("event_category") == "form"))
        .select("value")
    )
    clicks = web.actions.select("is_bot", "query").filter(
        ~pl.col("is_bot") & pl.col("query").str.contains("mc_eid=", literal=True)
    )
    mc_eids = clicks.select(value=pl.col("query").str.extract(r"mc_eid=([0-9a-f]+)")).unique()
    member_ids = email.members.select("person", value="unique_email_id")
    rows.append(
        _key(mc_eids.join(member_ids, on="value", maintain_order="left")).with_columns(
            kind=pl.lit("email_subscriber_id")
        )
    )
    rows.append(_key(member_ids).with_columns(kind=pl.lit("email_subscriber_id")))

    orders = shop.orders.filter(~pl.col("is_test"))
    emails = pl.concat(
        [
            form_emails,
            email.members.select(value="email_address"),
            orders.select(value="order_email"),
            shop.customers.select(value="customer_email"),
            shop.checkouts.select(value="checkout_email"),
            shop.checkouts.filter(pl.col("customer_email").is_not_null()).select(
                value="customer_email"
            ),
            support.users.filter(pl.col("role") == "end-user").select(value="email"),
            drops.nps_responses.select(value="email"),
            drops.reviews.select(value="email"),
        ]
    ).unique()
    rows.append(_email_owners(emails, world).with_columns(kind=pl.lit("email")))
    customers = shop.customers.select("person", value=pl.col("customer_id").cast(pl.String))
    rows.append(_key(customers).with_columns(kind=pl.lit("shop_customer_id")))
    tokens = pl.concat(
        [
            orders.select("person", "checkout_token"),
            shop.checkouts.select("person", "checkout_token"),
        ]
    )
    rows.append(
        _key(tokens.select("person", value="checkout_token")).with_columns(
            kind=pl.lit("checkout_token")
        )
    )
    users = support.users.select("person", value=pl.col("user_id").cast(pl.String))
    rows.append(
        _key(users.filter(pl.col("person") >= 0)).with_columns(kind=pl.lit("support_requester_id"))
    )
    agents = support.users.filter(pl.col("role") == "agent")
    staff_key = pl.format("staff-{}", (-pl.col("person")).cast(pl.String).str.zfill(2))
    rows.append(
        agents.select(
            person_key=staff_key,
            value=pl.col("user_id").cast(pl.String),
            kind=pl.lit("support_requester_id"),
        )
    )
    rows.append(agents.select(person_key=staff_key, value="email", kind=pl.lit("email")))
    phones = pl.concat(
        [shop.customers.select("person", "phone"), support.users.select("person", "phone")]
    ).filter(pl.col("phone").is_not_null() & (pl.col("person") >= 0))
    rows.append(_key(phones.select("person", value="phone")).with_columns(kind=pl.lit("phone")))
    frame = pl.concat(
        [r.select("person_key", identifier_kind="kind", identifier_value="value") for r in rows]
    )
    return frame.unique().sort("identifier_kind", "identifier_value", "person_key")


def normalised_email(value: pl.Expr) -> pl.Expr:
    """Trim, lower-case, strip a plus tag: the form in which one person's emails are equal."""
    lowered = value.str.strip_chars().str.to_lowercase()
    return lowered.str.replace(r"\+[^@]*@", "@")


def _email_owners(emails: pl.DataFrame, world: World) -> pl.DataFrame:
    """The owner of an email string is the person whose address it is (role mailboxes: their owner)."""
    owners = world.persons.select("person_key", normal=pl.col("email"))
    found = emails.with_columns(normal=normalised_email(pl.col("value"))).pipe(
        lookup, owners, on="normal"
    )
    missing = found.filter(pl.col("person_key").is_null())
    if missing.height:
        raise AssertionError(
            f"generator bug: emails without an owner: {missing['value'].head(5).to_list()}"
        )
    return found.drop("normal")


# ---- touchpoints ----------------------------------------------------------------------------


SOURCES = pl.Enum(["filedrop", "mailchimp", "matomo", "shopify", "zendesk"])
STREAMS = pl.Enum(sorted([
    "visits", "sent_to", "email_activity", "unsubscribes", "members", "checkouts", "orders",
    "tickets", "satisfaction_ratings", "nps_responses", "reviews",
]))  # fmt: skip
TOUCHPOINT_TYPES = pl.Enum([
    "page_view", "product_view", "site_search", "download", "form_submit", "add_to_cart", "email_sent", "email_open",
    "email_click", "email_bounce", "email_unsubscribe", "newsletter_signup", "checkout_started",
    "order", "order_cancelled", "referral", "ticket_created", "csat_response", "nps_response", "review",
])  # fmt: skip
PHASES = pl.Enum(list(PHASE_RANK))


def _part(frame: pl.DataFrame, source: str, stream: str, record_id: pl.Expr, kind: pl.Expr | str,
          at: str, person: str = "person", score: str | None = None) -> pl.DataFrame:  # fmt: skip
    """Touchpoint rows of one source record kind, in the common (compact) shape."""
    return frame.select(
        person=pl.col(person).cast(pl.Int32),
        source=pl.lit(source, SOURCES),
        stream=pl.lit(stream, STREAMS),
        record_id=record_id.cast(pl.String),
        touchpoint_type=(pl.lit(kind) if isinstance(kind, str) else kind).cast(TOUCHPOINT_TYPES),
        occurred_at=pl.col(at).cast(pl.Int64),
        score=pl.col(score).cast(pl.Int16) if score else pl.lit(None, pl.Int16),
    )


def touchpoints(world: World) -> pl.DataFrame:
    """Contracts §6.1 per true person (compact: person index, enums, unix seconds), with each
    touchpoint's own phase (§6.2; null: not phase evidence). `published` gives the file shape."""
    web, email, shop, support, drops = (
        world.web,
        world.email,
        world.shop,
        world.support,
        world.drops,
    )
    path = pl.col("path").cast(pl.String)
    is_product = pl.any_horizontal([path.str.starts_with(p) for p in catalog.PRODUCT_PATH_PREFIXES])
    web_kind = (
        pl.when(pl.col("type") == "action")
        .then(pl.when(is_product).then(pl.lit("product_view")).otherwise(pl.lit("page_view")))
        .when((pl.col("type") == "event") & (pl.col("event_category") == "form"))
        .then(pl.lit("form_submit"))
        .when((pl.col("type") == "event") & (pl.col("event_action") == "add_to_cart"))
        .then(pl.lit("add_to_cart"))
        .when(pl.col("type") == "search")
        .then(pl.lit("site_search"))
        .when(pl.col("type") == "download")
        .then(pl.lit("download"))
    )
    human = (
        web.actions.select("is_bot", "id_visit", "person", "timestamp", kind=web_kind)
        .filter(~pl.col("is_bot"))
        .drop_nulls("kind")
    )
    report = email.sends.pipe(
        lookup, email.members.select("member", "person", "email_id"), on="member"
    )
    report = report.pipe(
        lookup,
        email.campaigns.select("campaign", "campaign_id", "type", "send_time"),
        on="campaign",
    )
    report_key = pl.format("{}:{}", "campaign_id", "email_id")
    regular_sent = report.filter(
        pl.col("type").is_in(SENT_AT_SEND_TIME) & (pl.col("status") == "sent")
    )
    activity = email.activity.pipe(
        lookup, report.select("send", "person", "campaign_id", "email_id"), on="send"
    )
    orders = shop.orders.filter(~pl.col("is_test"))
    order_id = pl.col("order_id")
    # Deleted and merged-away tickets are no touchpoints, nor are the ratings of deleted ones.
    counted_tickets = support.tickets.filter((pl.col("deleted_at") < 0) & ~pl.col("is_merged"))
    cancelled = pl.col("cancelled_at") >= 0
    orders = orders.with_columns(
        kind=pl.when(cancelled).then(pl.lit("order_cancelled")).otherwise(pl.lit("order")),
        at=pl.when(cancelled).then("cancelled_at").otherwise("ordered_at"),
    )
    parts = [
        _part(human, "matomo", "visits", pl.col("id_visit"), pl.col("kind"), "timestamp"),
        _part(regular_sent, "mailchimp", "sent_to", report_key, "email_sent", "send_time"),
        _part(
            activity,
            "mailchimp",
            "email_activity",
            report_key,
            pl.format("email_{}", "action"),
            "timestamp",
        ),
        _part(
            email.unsubscribes,
            "mailchimp",
            "unsubscribes",
            report_key,
            "email_unsubscribe",
            "unsubscribed_at",
        ),
        _part(
            email.members,
            "mailchimp",
            "members",
            pl.col("email_id"),
            "newsletter_signup",
            "opted_in_at",
        ),
        _part(
            shop.checkouts,
            "shopify",
            "checkouts",
            pl.col("checkout_id"),
            "checkout_started",
            "checkout_at",
        ),
        _part(orders, "shopify", "orders", order_id, pl.col("kind"), "at"),
        _part(
            orders.filter(pl.col("referrer_person") >= 0),
            "shopify",
            "orders",
            order_id,
            "referral",
            "ordered_at",
            person="referrer_person",
        ),
        _part(
            counted_tickets,
            "zendesk",
            "tickets",
            pl.col("ticket_id"),
            "ticket_created",
            "created_at",
        ),
        _part(
            support.ratings.filter(
                pl.col("ticket_id").is_in(counted_tickets["ticket_id"].implode())
            ),
            "zendesk",
            "satisfaction_ratings",
            pl.col("rating_id"),
            "csat_response",
            "created_at",
        ),
        _part(
            drops.nps_responses,
            "filedrop",
            "nps_responses",
            pl.col("response_id"),
            "nps_response",
            "responded_at_s",
            score="score",
        ),
        _part(
            drops.reviews,
            "filedrop",
            "reviews",
            pl.col("review_id"),
            "review",
            "reviewed_at_s",
            score="rating",
        ),
    ]
    # A stable sort keeps the (deterministic) order of the parts for ties.
    frame = pl.concat(parts).sort("person", "occurred_at", maintain_order=True)
    return frame.with_columns(phase=touchpoint_phase(frame)).drop("score")


def touchpoint_phase(frame: pl.DataFrame) -> pl.Series:
    """§6.2: a touchpoint's phase; 'customer' when the person's first order is strictly earlier."""
    first_order = (
        frame.filter(pl.col("touchpoint_type") == "order")
        .group_by("person")
        .agg(first_order_at=pl.col("occurred_at").min())
    )
    f = frame.pipe(lookup, first_order, on="person")
    customer = pl.col("first_order_at").is_not_null() & (
        pl.col("first_order_at") < pl.col("occurred_at")
    )
    kind = pl.col("touchpoint_type")
    phase = (
        pl.when(kind == "page_view")
        .then(pl.when(customer).then(pl.lit("retention")).otherwise(pl.lit("awareness")))
        .when(kind.is_in(CONSIDERATION_TYPES))
        .then(pl.when(customer).then(pl.lit("retention")).otherwise(pl.lit("consideration")))
        .when(kind == "order")
        .then(pl.when(customer).then(pl.lit("loyalty")).otherwise(pl.lit("conversion")))
        .when(kind == "csat_response")
        .then(pl.lit("retention"))
        .when(kind == "nps_response")
        .then(pl.when(pl.col("score") >= 9).then(pl.lit("loyalty")).otherwise(pl.lit("retention")))
        .when(kind == "review")
        .then(pl.when(pl.col("score") >= 4).then(pl.lit("loyalty")).otherwise(pl.lit("retention")))
        .when(kind == "referral")
        .then(pl.lit("loyalty"))
    )
    return f.select(phase.cast(PHASES)).to_series().alias("phase")


def published_touchpoints(frame: pl.LazyFrame) -> pl.LazyFrame:
    """The file shape of §6.7 from `touchpoints`."""
    return frame.select(
        person_key=person_key(pl.col("person")),
        source=pl.col("source").cast(pl.String),
        stream=pl.col("stream").cast(pl.String),
        record_id="record_id",
        touchpoint_type=pl.col("touchpoint_type").cast(pl.String),
        occurred_at=utc("occurred_at"),
        phase=pl.col("phase").cast(pl.String),
    )


# ---- phases ---------------------------------------------------------------------------------


def phases(touchpoint_frame: pl.DataFrame, lapse_days: int = LAPSE_DAYS) -> pl.DataFrame:
    """§6.3 phase spells: episodes split by lapses; running maximum phase; runs of one phase.
    Only (person, time, rank) decide spells: at equal times the higher rank comes first."""
    t = touchpoint_frame.filter(pl.col("phase").is_not_null()).select(
        "person", "occurred_at", rank=pl.col("phase").to_physical().cast(pl.Int64) + 1
    )
    t = t.sort(["person", "occurred_at", "rank"], descending=[False, False, True])
    person = t["person"].to_numpy()
    at = t["occurred_at"].to_numpy()
    rank = t["rank"].to_numpy()
    new_person = np.r_[True, person[1:] != person[:-1]] if len(at) else np.zeros(0, bool)
    lapsed = np.r_[False, np.diff(at) > lapse_days * 86_400] if len(at) else new_person
    new_episode = new_person | lapsed
    episode = np.cumsum(new_episode)  # increasing across the whole frame
    # Running maximum within an episode: offset each episode above every earlier one.
    running = np.maximum.accumulate(rank + episode * 10) - episode * 10
    new_spell = new_episode | np.r_[True, running[1:] != running[:-1]]
    names = np.array(["", *PHASE_RANK])
    return pl.DataFrame(
        {
            "person": person[new_spell],
            "phase": names[running[new_spell]],
            "entered_at": at[new_spell],
        }
    ).select(person_key=person_key(pl.col("person")), phase="phase", entered_at=utc("entered_at"))


# ---- sessions -------------------------------------------------------------------------------


def sessions(world: World) -> pl.DataFrame:
    """§6.5 with the defaults: per device, over the actions of non-bot visits that are session
    activity (every type but goals and ecommerce conversions)."""
    # An event's URL is its page's (actions are stored per visit in time order, a page first).
    page_query = (
        pl.when(pl.col("type") == "action").then(pl.col("query").fill_null("")).forward_fill()
    )
    actions = world.web.actions.select(
        "is_bot", "device", "timestamp", "id_visit", "step", "type", page_query=page_query
    ).filter(~pl.col("is_bot") & ~pl.col("type").is_in(CONVERSION_TYPES))
    actions = actions.sort("device", "timestamp", "id_visit", "step").select(
        "device", "timestamp", "type", "page_query"
    )
    key = _campaign_codes(actions["page_query"])
    device = actions["device"].to_numpy()
    ts = actions["timestamp"].to_numpy()
    new_device = np.r_[True, device[1:] != device[:-1]] if len(ts) else np.zeros(0, bool)
    gap = np.r_[0, np.diff(ts)] if len(ts) else ts
    reason = np.where(
        new_device, FIRST, np.where(gap > SESSION_INACTIVITY_MINUTES * 60, INACTIVITY, NONE)
    )
    # Max length and campaign change depend on where the current session started: add the
    # earliest violating action of each session as a new boundary until none is left.
    while True:
        boundary = reason != NONE
        session = np.cumsum(boundary) - 1
        starts = np.flatnonzero(boundary)
        too_long = ts - ts[starts][session] > SESSION_MAX_MINUTES * 60
        current = key[starts][session]
        changed = (key >= 0) & (key != current)
        violating = ~boundary & (too_long | changed)
        if not violating.any():
            break
        rows = np.flatnonzero(violating)
        _, first = np.unique(session[rows], return_index=True)
        rows = rows[first]
        reason[rows] = np.where(too_long[rows], MAX_LENGTH, CAMPAIGN_CHANGE)
    boundary = reason != NONE
    starts = np.flatnonzero(boundary)
    ends = np.r_[starts[1:], len(ts)] - 1
    session = np.cumsum(boundary) - 1
    page_views = np.bincount(
        session, weights=(actions["type"] == "action").to_numpy(), minlength=len(starts)
    )
    frame = pl.DataFrame(
        {
            "device": device[starts],
            "session_started_at": ts[starts],
            "session_ended_at": ts[ends],
            "page_views": page_views.astype(np.int64),
            "split_reason": np.array(SPLIT_REASONS)[reason[starts]],
        }
    ).pipe(lookup, world.web.devices.select("device", "visitor_id"), on="device")
    return frame.sort("visitor_id", "session_started_at").select(
        "visitor_id",
        utc("session_started_at"),
        utc("session_ended_at"),
        "page_views",
        "split_reason",
    )


NONE, FIRST, INACTIVITY, MAX_LENGTH, CAMPAIGN_CHANGE = -1, 0, 1, 2, 3
SPLIT_REASONS = ["first", "inactivity", "max_length", "campaign_change"]
CAMPAIGN_PARAMETERS = ("utm_source", "utm_medium", "utm_campaign", "mc_cid")


def _campaign_codes(queries: pl.Series) -> np.ndarray:
    """Per URL query, a code of its campaign parameters (equal codes: equal campaign); -1: none."""
    frame = queries.to_frame("query").with_columns(row=pl.int_range(pl.len()))
    with_query = frame.filter(pl.col("query").str.len_bytes() > 0)
    params = [
        pl.concat_str(pl.lit("&"), "query").str.extract(rf"&{name}=([^&#]*)").alias(name)
        for name in CAMPAIGN_PARAMETERS
    ]
    with_query = with_query.with_columns(params).filter(
        pl.any_horizontal(pl.col(n).is_not_null() for n in CAMPAIGN_PARAMETERS)
    )
    with_query = with_query.with_columns(
        campaign=pl.concat_str(
            [pl.col(n).fill_null("") for n in CAMPAIGN_PARAMETERS], separator="|"
        )
    ).with_columns(code=pl.col("campaign").rank("dense").cast(pl.Int64))
    codes = np.full(frame.height, -1, dtype=np.int64)
    codes[with_query["row"].to_numpy()] = with_query["code"].to_numpy()
    return codes


# ---- orders ---------------------------------------------------------------------------------


def orders(world: World) -> pl.DataFrame:
    o = world.shop.orders
    cancelled = pl.col("cancelled_at") >= 0
    first = (
        o.filter(~pl.col("is_test") & ~cancelled)
        .group_by("person")
        .agg(first_order_id=pl.col("order_id").sort_by("ordered_at", "order_id").first())
    )
    o = o.pipe(lookup, first, on="person")
    o = _key(o).with_columns(
        person_key=pl.when("is_test").then(pl.lit("staff-qa")).otherwise("person_key")
    )
    return o.select(
        order_id=pl.col("order_id").cast(pl.String),
        person_key="person_key",
        created_at=utc("ordered_at"),
        is_test="is_test",
        is_cancelled=cancelled,
        total_price=pl.col("total_cents") / 100,
        refunded_amount=pl.when(pl.col("refunded_at") >= 0)
        .then(pl.col("refund_cents") / 100)
        .otherwise(0.0),
        is_first_order=(pl.col("order_id") == pl.col("first_order_id")).fill_null(False),
        # Shopify's order arithmetic (contracts §1.3): total_price = subtotal_price +
        # shipping_price + total_tax (unless included) + total_tip_received + total_duties.
        subtotal_price=pl.col("subtotal_cents") / 100,
        shipping_price=(pl.col("shipping_cents") - pl.col("shipping_discount_cents")) / 100,
        total_tax=pl.col("tax_cents") / 100,
        is_taxes_included="is_taxes_included",
        total_tip_received=pl.col("tip_cents") / 100,
        total_duties=pl.col("duties_cents") / 100,
    ).sort("created_at", "order_id")
