"""The visit plan: who visits when, on which device, from which channel. Every web-side event of
another source (sign-up form, contact form, abandoned checkout, order, email click) becomes a
planned visit, plus plain browsing and shared-device logins. Times are unix seconds."""

from __future__ import annotations

import numpy as np
import polars as pl

from devkit.demo import catalog
from devkit.demo.email import Email
from devkit.demo.population import (
    ANONYMOUS,
    LEAD,
    WEB_FORM_VARIANTS,
    email_variants,
    typed_email,
)
from devkit.demo.shop import CHECKOUT_CUSTOMER, Shop
from devkit.demo.support import Support
from devkit.demo.util import (
    DAY,
    MINUTE,
    Period,
    Streams,
    chance,
    hex_ids,
    lookup,
    pick,
)

# Visit kinds.
BROWSE, SIGNUP, CONTACT, COLLEAGUE_FORM, ABANDON, ORDER, CLICK, SHARED = range(8)
# Login modes of a visit: none, the whole visit, a login in the middle (Matomo starts a new visit).
NO_LOGIN, WHOLE, MID = 0, 1, 2
# Channel codes: the catalogue's CHANNELS by index, then email.
EMAIL_CHANNEL = len(catalog.CHANNELS)
DIRECT_CHANNEL = [c[0] for c in catalog.CHANNELS].index("direct")
HOUR_AFTER_LOGIN = 3_600


def plan_visits(
    streams: Streams, persons, shop: Shop, email: Email, support: Support, period: Period
):
    """(devices, plan): human devices and one row per planned visit with its channel and landing page."""
    devices = _devices(streams("devices"), persons)
    plan = _plan(streams, persons, shop, email, support, period)
    plan = _assign_devices(streams("device-assignment"), plan, persons, devices)
    plan = _channels(streams("channels"), plan, catalog.pages(), period)
    return devices, plan


# ---- devices --------------------------------------------------------------------------------


def _devices(rng, persons: pl.DataFrame) -> pl.DataFrame:
    """Device 0..n-1 is each person's primary device; second devices follow."""
    n = persons.height
    second = np.flatnonzero(persons["has_second_device"].to_numpy())
    owner = np.concatenate([np.arange(n), second])
    device_type = pick(rng, len(owner), catalog.DEVICE_TYPES)
    device_type[n:] = np.where(device_type[second] == 0, 1, 0)  # the other kind of device
    return device_attributes(
        rng, pl.DataFrame({"device": np.arange(len(owner)), "owner": owner}), device_type
    )


def device_attributes(rng, frame: pl.DataFrame, device_type: np.ndarray) -> pl.DataFrame:
    n = frame.height
    types = np.array(list(catalog.DEVICE_TYPES))
    desktop_os = pick(rng, n, [0.6, 0.33, 0.07])
    mobile_os = pick(rng, n, [0.55, 0.45])
    os_name = np.where(
        device_type == 0,
        np.array(["Windows", "Mac", "GNU/Linux"])[desktop_os],
        np.array(["iOS", "Android"])[mobile_os],
    )
    desktop_browser = np.array(["Chrome", "Firefox", "Microsoft Edge"])[
        pick(rng, n, [0.6, 0.2, 0.2])
    ]
    browser = np.where(
        os_name == "Mac",
        np.where(chance(rng, n, 0.6), "Safari", "Chrome"),
        np.where(
            os_name == "iOS",
            np.where(chance(rng, n, 0.8), "Mobile Safari", "Chrome Mobile"),
            np.where(
                os_name == "Android",
                np.where(chance(rng, n, 0.8), "Chrome Mobile", "Samsung Internet"),
                desktop_browser,
            ),
        ),
    )
    return frame.with_columns(
        visitor_id=hex_ids(frame["device"].to_numpy(), salt=0x715170, length=16),
        fingerprint=hex_ids(frame["device"].to_numpy(), salt=0xF1, length=16),
        device_type=pl.Series(types[device_type]),
        operating_system=pl.Series(os_name),
        browser_name=pl.Series(browser),
        is_bot=pl.lit(False),
    )


# ---- visit plan -----------------------------------------------------------------------------

PLAN_SCHEMA = {
    "person": pl.Int64,
    "kind": pl.Int8,
    "anchor_at": pl.Int64,
    "login": pl.Int8,
    "form_action": pl.String,
    "form_email": pl.String,
    "handle": pl.String,
    "order_id": pl.Int64,
    "checkout_id": pl.Int64,
    "revenue_cents": pl.Int64,
    "checkout_gap": pl.Int64,
    "landing_path": pl.String,
    "landing_query": pl.String,
    "channel": pl.Int8,
    "host_person": pl.Int64,
}


def _frame(**columns) -> pl.DataFrame:
    n = max(len(v) for v in columns.values() if isinstance(v, (np.ndarray, pl.Series, list)))
    data = {
        name: (v if isinstance(v, (np.ndarray, pl.Series, list)) else [v] * n)
        for name, v in columns.items()
    }
    frame = pl.DataFrame(data, schema_overrides={k: PLAN_SCHEMA[k] for k in data})
    missing = [
        pl.lit(None, dtype).alias(name) for name, dtype in PLAN_SCHEMA.items() if name not in data
    ]
    return frame.with_columns(missing).select(list(PLAN_SCHEMA))


def _plan(
    streams: Streams,
    persons: pl.DataFrame,
    shop: Shop,
    email: Email,
    support: Support,
    period: Period,
) -> pl.DataFrame:
    rng = streams("visit-plan")
    parts = [
        _browse_visits(rng, persons, period),
        _signup_visits(email),
        _contact_visits(rng, persons, support),
        _colleague_visits(rng, persons, period),
        _abandon_visits(shop),
        _order_visits(rng, shop, email),
        _click_visits(email),
        _shared_visits(rng, persons, period),
    ]
    plan = pl.concat([p for p in parts if p.height], how="vertical")
    plan = plan.filter(
        (pl.col("anchor_at") < period.end - 10 * MINUTE) & (pl.col("anchor_at") >= period.start)
    )
    # Buyers log in on browsing visits after their first order: whole visit or in the middle.
    plan = plan.pipe(lookup, persons.select("person", "t_order1"), on="person")
    login = pick(rng, plan.height, [0.5, 0.4, 0.1]).astype(np.int8)
    is_customer_browse = (
        (pl.col("kind") == BROWSE)
        & (pl.col("t_order1") >= 0)
        & (pl.col("anchor_at") > pl.col("t_order1"))
    )
    plan = plan.with_columns(
        login=pl.when(is_customer_browse).then(pl.Series(login)).otherwise("login")
    ).drop("t_order1")
    plan = plan.sort("anchor_at", "person", "kind").with_columns(visit=pl.int_range(pl.len()))
    return plan.pipe(lookup, shop.customers.select("person", "customer_id"), on="person")


def _browse_visits(rng, persons: pl.DataFrame, period: Period) -> pl.DataFrame:
    segment = persons["segment"].to_numpy()
    n = len(segment)
    extra = np.where(
        segment == ANONYMOUS,
        pick(rng, n, [0.7, 0.2, 0.1]),
        np.where(segment == LEAD, 1 + rng.poisson(1.5, n), 2 + rng.poisson(3.0, n)),
    )
    mean_gap = np.where(segment == ANONYMOUS, 7.0, np.where(segment == LEAD, 25.0, 35.0))
    count = 1 + extra
    person = np.repeat(np.arange(n), count)
    first_of = np.repeat(np.cumsum(count) - count, count)
    is_first = np.arange(len(person)) == first_of
    t_first = persons["t_first"].to_numpy()[person]
    gap = (rng.exponential(1.0, len(person)) * mean_gap[person] * DAY).astype(
        np.int64
    ) + 30 * MINUTE
    anchor = np.where(is_first, t_first, t_first + gap)
    frame = _frame(person=person, kind=BROWSE, anchor_at=anchor, login=NO_LOGIN)
    return (
        frame.with_columns(is_first_visit=pl.Series(is_first))
        .filter(pl.col("is_first_visit") | (pl.col("anchor_at") < period.end))
        .drop("is_first_visit")
    )


def _signup_visits(email: Email) -> pl.DataFrame:
    web = email.members.filter(pl.col("source") != "Shopify")
    return _frame(
        person=web["person"],
        kind=SIGNUP,
        anchor_at=web["signed_up_at"],
        login=NO_LOGIN,
        form_action=pl.Series(
            np.where(web["source"].to_numpy() == "Website form", "newsletter_signup", "lead_form")
        ),
        form_email=web["signup_typed"],
    )


def _typed_person_email(rng, persons: pl.DataFrame, person: np.ndarray) -> pl.Series:
    base = persons["email"].to_numpy()[person]
    variant = email_variants(rng, len(person), WEB_FORM_VARIANTS)
    return (
        pl.DataFrame({"e": base, "v": variant})
        .select(typed_email(pl.col("e"), pl.col("v")))
        .to_series()
    )


def _contact_visits(rng, persons: pl.DataFrame, support: Support) -> pl.DataFrame:
    web = support.tickets.filter(pl.col("channel_name") == "web")
    person = web["person"].to_numpy()
    return _frame(
        person=person,
        kind=CONTACT,
        anchor_at=web["created_at"].to_numpy() - 5,
        login=NO_LOGIN,
        form_action="contact",
        form_email=_typed_person_email(rng, persons, person),
    )


def _colleague_visits(rng, persons: pl.DataFrame, period: Period) -> pl.DataFrame:
    """A colleague requests a quote with the company's role mailbox (info@…) on their own device."""
    colleague = persons.filter(pl.col("generic_colleague_of") >= 0)
    known_at = np.where(
        colleague["t_signup"].to_numpy() >= 0,
        colleague["t_signup"].to_numpy(),
        colleague["t_order1"].to_numpy(),
    )
    at = known_at + rng.integers(1 * DAY, 30 * DAY, colleague.height)
    at = np.where(at < period.end, at, known_at + 10 * MINUTE)
    return _frame(
        person=colleague["person"],
        kind=COLLEAGUE_FORM,
        anchor_at=at,
        login=NO_LOGIN,
        form_action="lead_form",
        form_email=_typed_person_email(rng, persons, colleague["generic_colleague_of"].to_numpy()),
    )


def _abandon_visits(shop: Shop) -> pl.DataFrame:
    c = shop.checkouts.join(
        shop.line_items.filter(pl.col("line") == 0).select("basket", "handle"),
        on="basket",
        maintain_order="left",
    )
    return _frame(
        person=c["person"],
        kind=ABANDON,
        anchor_at=c["checkout_at"],
        login=pl.Series(np.where(c["kind"].to_numpy() == CHECKOUT_CUSTOMER, WHOLE, NO_LOGIN)),
        handle=c["handle"],
        checkout_id=c["checkout_id"],
    )


def _order_visits(rng, shop: Shop, email: Email) -> pl.DataFrame:
    o = shop.orders.filter(~pl.col("is_test")).join(
        shop.line_items.filter(pl.col("line") == 0).select("basket", "handle"),
        on="basket",
        maintain_order="left",
    )
    # A recovered order starts on the reminder's link (with Mailchimp's tracking parameters).
    recovery = (
        _click_urls(email).filter("is_recovery").select("person", "click_path", "click_query")
    )
    o = o.pipe(lookup, recovery, on="person").with_columns(
        click_path=pl.when("is_recovered").then("click_path"),
        click_query=pl.when("is_recovered").then("click_query"),
    )
    first = o["is_first_order"].to_numpy()
    login = np.where(first, MID, np.where(chance(rng, o.height, 0.5), WHOLE, MID))
    return _frame(
        person=o["person"],
        kind=ORDER,
        anchor_at=o["ordered_at"],
        login=pl.Series(login),
        handle=o["handle"],
        order_id=o["order_id"],
        revenue_cents=o["total_cents"],
        checkout_gap=o["checkout_step_gap"],
        landing_path=o["click_path"],
        landing_query=o["click_query"],
        channel=pl.Series(np.where(o["is_recovered"].to_numpy(), EMAIL_CHANNEL, -1)),
    ).with_columns(pl.col("channel").replace(-1, None))


def _click_urls(email: Email) -> pl.DataFrame:
    clicks = email.activity.filter(pl.col("action") == "click")
    clicks = clicks.join(
        email.members.select("member", "person", "unique_email_id"),
        on="member",
        maintain_order="left",
    ).join(
        email.campaigns.select("campaign", "campaign_id", "utm_campaign", "link_path"),
        on="campaign",
        maintain_order="left",
    )
    return clicks.with_columns(
        click_path=pl.col("link_path"),
        click_query=pl.format(
            "utm_source=mailchimp&utm_medium=email&utm_campaign={}&mc_cid={}&mc_eid={}",
            "utm_campaign",
            "campaign_id",
            "unique_email_id",
        ),
    )


def _click_visits(email: Email) -> pl.DataFrame:
    c = _click_urls(email).filter(~pl.col("is_recovery"))
    return _frame(
        person=c["person"],
        kind=CLICK,
        anchor_at=c["timestamp"] + 2,
        login=NO_LOGIN,
        landing_path=c["click_path"],
        landing_query=c["click_query"],
        channel=EMAIL_CHANNEL,
    )


def _shared_visits(rng, persons: pl.DataFrame, period: Period) -> pl.DataFrame:
    """A buyer logs in on another buyer's device (household computer), after both have ordered."""
    guest = persons.filter(pl.col("shares_device_of") >= 0)
    host = guest["shares_device_of"].to_numpy()
    since = (
        np.maximum(persons["t_order1"].to_numpy()[host], guest["t_order1"].to_numpy())
        + HOUR_AFTER_LOGIN
    )
    count = 1 + chance(rng, guest.height, 0.5)
    person = np.repeat(guest["person"].to_numpy(), count)
    at = np.repeat(since, count) + rng.integers(1 * DAY, 40 * DAY, len(person))
    at = np.where(at < period.end - DAY, at, np.repeat(since, count) + 20 * MINUTE)
    return _frame(
        person=person,
        kind=SHARED,
        anchor_at=at,
        login=WHOLE,
        host_person=np.repeat(host, count),
        channel=DIRECT_CHANNEL,
    )


def _assign_devices(
    rng, plan: pl.DataFrame, persons: pl.DataFrame, devices: pl.DataFrame
) -> pl.DataFrame:
    """Primary device by default; the host's device for shared visits; second devices only after
    a click or a login on them (so they are linked), except the few deliberately unlinked ones."""
    second = devices.filter(pl.col("device") >= persons.height).select(
        person="owner", second_device="device"
    )
    unlinked = persons.filter("is_second_device_unlinked").select("person")
    plan = plan.pipe(lookup, second, on="person").with_columns(
        is_unlinked=pl.col("person").is_in(unlinked["person"].implode())
    )
    n = plan.height
    kind = plan["kind"].to_numpy()
    has_second = plan["second_device"].is_not_null().to_numpy() & ~plan["is_unlinked"].to_numpy()
    linking = ((kind == CLICK) & chance(rng, n, 0.5)) | (
        (plan["login"].to_numpy() != NO_LOGIN) & (kind == BROWSE) & chance(rng, n, 0.3)
    )
    linking &= has_second
    plan = plan.with_columns(is_linking=pl.Series(linking))
    first_link = (
        plan.filter("is_linking").group_by("person").agg(first_link_at=pl.col("anchor_at").min())
    )
    plan = plan.pipe(lookup, first_link, on="person")
    follow = (
        (kind == BROWSE)
        & (plan["first_link_at"].fill_null(2**62).to_numpy() < plan["anchor_at"].to_numpy())
        & chance(rng, n, 0.3)
        & has_second
    )
    on_second = linking | follow
    # The unlinked second devices: one anonymous browse visit each, nothing that links them.
    first_browse = (kind == BROWSE) & (
        plan.select(pl.int_range(pl.len()).over("person", "kind") == 1).to_series().to_numpy()
    )
    on_second |= (
        first_browse
        & plan["is_unlinked"].to_numpy()
        & plan["second_device"].is_not_null().to_numpy()
    )
    plan = plan.with_columns(
        device=pl.when(pl.Series(on_second))
        .then("second_device")
        .when(pl.col("kind") == SHARED)
        .then("host_person")
        .otherwise("person"),
        login=pl.when(pl.Series(on_second & (kind == BROWSE) & ~linking))
        .then(NO_LOGIN)
        .otherwise("login")
        .cast(pl.Int8),
    )
    return plan.drop("second_device", "is_unlinked", "is_linking", "first_link_at")


# ---- channels and landing pages ------------------------------------------------------------


def _channels(rng, plan: pl.DataFrame, page_table: pl.DataFrame, period: Period) -> pl.DataFrame:
    """Acquisition channel, landing page, UTM parameters and Matomo referrer fields per visit."""
    n = plan.height
    first_visit = np.zeros(n, dtype=bool)
    first_visit[np.unique(plan["person"].to_numpy(), return_index=True)[1]] = True
    first_w = [c[2] for c in catalog.CHANNELS]
    later_w = [c[3] for c in catalog.CHANNELS]
    drawn = np.where(first_visit, pick(rng, n, first_w), pick(rng, n, later_w))
    channel = plan["channel"].fill_null(-1).to_numpy()
    channel = np.where(channel >= 0, channel, drawn).astype(np.int8)
    kind = plan["kind"].to_numpy()

    # Landing page: home, a product, a blog post or another content page.
    browse = page_table.filter(pl.col("weight") > 0)
    landing = browse["path"].gather(pick(rng, n, browse["weight"].to_numpy()))
    landing = pl.select(
        pl.when(pl.Series(chance(rng, n, 0.35))).then(pl.lit("/")).otherwise(landing)
    ).to_series()

    names = [c[0] for c in catalog.CHANNELS]
    day = (plan["anchor_at"].to_numpy() - period.start) // DAY
    campaigns = catalog.PAID_CAMPAIGNS.with_columns(utm_code=pl.int_range(pl.len(), dtype=pl.Int64))
    utm_code = np.full(n, -1, dtype=np.int64)
    for paid in ("paid_search", "paid_social", "display"):
        rows = np.flatnonzero(channel == names.index(paid))
        of_channel = campaigns.filter(pl.col("channel") == paid)
        chosen = pick(rng, len(rows), of_channel["weight"].to_numpy())
        first_day = of_channel["first_day"].to_numpy()[chosen]
        last_day = of_channel["last_day"].fill_null(10**6).to_numpy()[chosen]
        active = (day[rows] >= first_day) & (day[rows] <= last_day)
        chosen = np.where(active, chosen, 0)  # the channel's first campaign runs all period
        utm_code[rows] = of_channel["utm_code"].to_numpy()[chosen]
    social = (channel == names.index("social")) & chance(rng, n, 0.3)
    utm_code[social] = campaigns.height  # organic social with UTM parameters (a bio link)

    plan = plan.with_columns(
        channel=pl.Series(channel),
        landing_path=plan["landing_path"].fill_null(landing),
        utm_code=pl.Series(utm_code),
        site_code=pl.Series(_referrer_sites(rng, channel, names)),
        referrer_type=pl.Series(np.array([c[1] for c in catalog.CHANNELS] + ["campaign"])[channel]),
        is_marathon=pl.Series((kind == BROWSE) & chance(rng, n, 0.003)),
    )
    plan = plan.pipe(lookup, _utm_table(campaigns), on="utm_code").pipe(
        lookup, _site_table(), on="site_code"
    )
    # Email visits: the campaign is Mailchimp's, its parameters are already on the landing URL.
    is_email = pl.col("channel") == EMAIL_CHANNEL
    plan = plan.with_columns(
        landing_query=pl.coalesce("landing_query", "utm_query"),
        utm_source=pl.when(is_email).then(pl.lit("mailchimp")).otherwise("utm_source"),
        utm_medium=pl.when(is_email).then(pl.lit("email")).otherwise("utm_medium"),
        utm_campaign=pl.when(is_email)
        .then(pl.col("landing_query").str.extract(r"utm_campaign=([^&]+)"))
        .otherwise("utm_campaign"),
    )
    is_campaign = pl.col("utm_source").is_not_null()
    return plan.with_columns(
        referrer_type=pl.when(is_campaign).then(pl.lit("campaign")).otherwise("referrer_type"),
        referrer_name=pl.when(is_campaign)
        .then(pl.col("utm_campaign").str.to_lowercase())
        .otherwise("referrer_name"),
        landing_path_query=pl.when(pl.col("landing_query").is_not_null())
        .then(pl.format("{}?{}", "landing_path", "landing_query"))
        .otherwise("landing_path"),
    ).drop("utm_code", "site_code", "utm_query")


def _utm_table(campaigns: pl.DataFrame) -> pl.DataFrame:
    """UTM parameters per code: the paid campaigns, then organic social's bio link."""
    source, medium, campaign = catalog.ORGANIC_SOCIAL_UTM
    organic = pl.DataFrame({"source": [source], "medium": [medium], "campaign": [campaign]})
    table = pl.concat([campaigns.select("source", "medium", "campaign"), organic])
    term = (
        pl.when(pl.col("medium") != "cpc")
        .then(None)
        .when(pl.col("campaign") == "brand_search")
        .then(pl.lit("deskly"))
        .otherwise(pl.lit("standing desk"))
    )
    table = table.select(
        utm_code=pl.int_range(pl.len(), dtype=pl.Int64),
        utm_source="source",
        utm_medium="medium",
        utm_campaign="campaign",
        utm_term=term,
    )
    query = pl.format(
        "utm_source={}&utm_medium={}&utm_campaign={}", "utm_source", "utm_medium", "utm_campaign"
    )
    term_part = pl.format("&utm_term={}", pl.col("utm_term").str.replace(" ", "+"))
    return table.with_columns(utm_query=pl.concat_str(query, term_part.fill_null("")))


SITE_GROUPS = [  # (channel, sites, name shown, keyword)
    ("organic_search", catalog.SEARCH_ENGINES, True, "Keyword not defined"),
    ("paid_search", catalog.SEARCH_ENGINES, False, None),
    ("social", catalog.SOCIAL_SITES, True, None),
    ("referral", catalog.REFERRAL_SITES, True, None),
]


def _site_table() -> pl.DataFrame:
    """Referrer name, URL and keyword per site code (codes numbered across SITE_GROUPS)."""
    rows = [
        (name if shown else None, url, keyword)
        for _, sites, shown, keyword in SITE_GROUPS
        for name, (url, _) in sites.items()
    ]
    table = pl.DataFrame(
        rows, schema=["referrer_name", "referrer_url", "referrer_keyword"], orient="row"
    )
    return table.with_columns(site_code=pl.int_range(pl.len(), dtype=pl.Int64))


def _referrer_sites(rng, channel: np.ndarray, names: list[str]) -> np.ndarray:
    """Which referring site a visit came from (a code of `_site_table`; -1: none)."""
    code = np.full(len(channel), -1, dtype=np.int64)
    offset = 0
    for channel_name, sites, _, _ in SITE_GROUPS:
        rows = np.flatnonzero(channel == names.index(channel_name))
        code[rows] = offset + pick(rng, len(rows), [w for _, w in sites.values()])
        offset += len(sites)
    return code
