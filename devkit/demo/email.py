"""Mailchimp: list members, campaigns of every type (regular, plain-text, RSS, A/B split,
multivariate) and automation emails, deliveries, opens, clicks,
bounces and unsubscribes. Times are unix seconds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import duckdb
import numpy as np
import polars as pl

from devkit.demo import catalog
from devkit.demo.population import (
    LEAD_FORM,
    NEWSLETTER,
    WEB_FORM_VARIANTS,
    email_variants,
    plus_address,
    typed_email,
)
from devkit.demo.shop import CHECKOUT_RECOVERED, REMINDER_DELAY, Shop
from devkit.demo.util import (
    DAY,
    HOUR,
    MINUTE,
    Period,
    Streams,
    chance,
    exact_share,
    hex_ids,
    lognormal_seconds,
    lookup,
    pick,
)

AUTOMATION_KEYS = [key for key, *_ in catalog.AUTOMATIONS]
WELCOME_DELAY = 5 * MINUTE


@dataclass(frozen=True)
class Email:
    members: pl.DataFrame  # one row per member (with its status history as times)
    campaigns: pl.DataFrame  # one row per report: broadcast campaigns and automation emails
    sends: pl.DataFrame  # one row per (campaign, member) delivery
    activity: pl.DataFrame  # one row per open / click / bounce event
    unsubscribes: pl.DataFrame  # one row per unsubscribe (campaign, member)


def build_email(streams: Streams, persons: pl.DataFrame, shop: Shop, period: Period) -> Email:
    rng = streams("email")
    members = _members(rng, persons, shop, period)
    campaigns = _campaigns(period)
    regular = campaigns.filter(pl.col("type") != "automation").sort("send_time")  # broadcasts
    members = _exits(rng, members, regular, shop, period)
    sends = _sends(rng, members, campaigns, regular, shop, period)
    activity = _activity(streams("email-activity"), sends, members, campaigns, shop, period)
    unsubscribes = (
        members.filter(pl.col("unsubscribed_at") >= 0)
        .select(
            "member",
            "person",
            "email_address",
            "email_id",
            "unsubscribed_at",
            "unsubscribe_campaign",
        )
        .join(
            campaigns.select("campaign", "campaign_id"),
            left_on="unsubscribe_campaign",
            right_on="campaign",
            maintain_order="left",
        )
        .with_columns(reason=pl.lit("I no longer want to receive these emails"))
    )
    counts = sends.group_by("campaign").agg(emails_sent=pl.len())
    campaigns = campaigns.pipe(lookup, counts, on="campaign").with_columns(
        pl.col("emails_sent").fill_null(0)
    )
    last_send = sends.group_by("campaign").agg(last_sent_at=pl.col("sent_at").max())
    campaigns = campaigns.pipe(lookup, last_send, on="campaign")
    return Email(members, campaigns, sends, activity, unsubscribes)


def _members(rng, persons: pl.DataFrame, shop: Shop, period: Period) -> pl.DataFrame:
    web = persons.filter(pl.col("signup_kind").is_in([NEWSLETTER, LEAD_FORM]))
    variant = email_variants(rng, web.height, WEB_FORM_VARIANTS)
    address = (
        pl.when("has_plus_address").then(plus_address(pl.col("email"))).otherwise(pl.col("email"))
    )
    web = web.select(
        "person",
        "first_name",
        "last_name",
        "engagement",
        signup_typed=typed_email(address, pl.Series(variant)),
        signed_up_at=pl.col("t_signup"),
        opted_in_at=pl.col("t_signup")
        + pl.Series(rng.integers(1 * MINUTE, 20 * MINUTE, web.height)),
        source=pl.when(pl.col("signup_kind") == NEWSLETTER)
        .then(pl.lit("Website form"))
        .otherwise(pl.lit("Lead form")),
    )
    shop_optins = (
        shop.optins.join(
            shop.customers.select("person", "customer_email"), on="person", maintain_order="left"
        )
        .join(
            persons.select("person", "first_name", "last_name", "engagement"),
            on="person",
            maintain_order="left",
        )
        .select(
            "person",
            "first_name",
            "last_name",
            "engagement",
            signup_typed=pl.col("customer_email"),
            signed_up_at=pl.col("optin_at"),
            opted_in_at=pl.col("optin_at"),
            source=pl.lit("Shopify"),
        )
    )
    members = (
        pl.concat([web, shop_optins])
        .filter(pl.col("opted_in_at") < period.end)
        .sort("signed_up_at", "person")
    )
    members = members.with_columns(
        member=pl.int_range(pl.len()), email_address=pl.col("signup_typed").str.strip_chars()
    )
    members = members.with_columns(
        unique_email_id=hex_ids(members["member"].to_numpy(), salt=0x5EED, length=10)
    )
    return members.with_columns(subscriber_hash(members["email_address"]))


def subscriber_hash(emails: pl.Series) -> pl.Series:
    """Mailchimp's member id: md5 of the lower-cased address (DuckDB, as Polars has no md5)."""
    addresses = emails.to_frame("email_address").with_columns(row=pl.int_range(pl.len()))
    with duckdb.connect() as connection:
        connection.execute("SET enable_progress_bar = false")
        connection.register("addresses", addresses)
        query = "SELECT md5(lower(email_address)) AS email_id FROM addresses ORDER BY row"
        return connection.execute(query).pl()["email_id"]


def _campaigns(period: Period) -> pl.DataFrame:
    """Biweekly newsletters (Tuesday 08:00 UTC; every third an RSS blog digest), a monthly
    promotion (first Thursday 16:00 UTC; in turn a regular campaign, a multivariate subject-line
    test, a plain-text one and an A/B split), and the five automation emails (their reports'
    send_time is when the automation started). Every broadcast type goes to the whole list at
    its send time (the winner of a test too, in this simulation)."""
    warm_up = period.first_day + timedelta(days=3)
    first_tuesday = warm_up + timedelta(days=(1 - warm_up.weekday()) % 7)
    newsletter_days = [first_tuesday + timedelta(days=14 * i) for i in range(period.days // 14 + 1)]
    months = pl.date_range(
        period.first_day.replace(day=1), period.last_day, interval="1mo", eager=True
    ).to_list()
    promo_days = [m + timedelta(days=(3 - m.weekday()) % 7) for m in months]
    promo_days = [d if d >= warm_up else d + timedelta(days=7) for d in promo_days]
    rows = [
        ("rss" if i % 3 == 2 else "regular", d, 8, f"Newsletter {d:%d %b %Y}",
         f"newsletter_{d:%Y_%m_%d}", "Deskly news")
        for i, d in enumerate(newsletter_days)
    ]  # fmt: skip
    promo_types = ["regular", "variate", "plaintext", "absplit"]
    rows += [
        (promo_types[i % 4], d, 16, f"Promotion {d:%B %Y}", f"promo_{d:%Y_%m}",
         f"{d:%B} deals on desks")
        for i, d in enumerate(promo_days)
    ]  # fmt: skip
    frame = pl.DataFrame(
        rows,
        schema=["type", "day", "hour", "campaign_title", "utm_campaign", "subject_line"],
        orient="row",
    )
    frame = frame.with_columns(
        send_time=(pl.col("day").cast(pl.Datetime("us")).dt.epoch("s") + pl.col("hour") * HOUR)
    ).filter((pl.col("send_time") >= period.start) & (pl.col("send_time") < period.end - DAY))
    frame = frame.sort("send_time").with_columns(
        link_path=pl.Series(
            [
                catalog.NEWSLETTER_LINKS[i % len(catalog.NEWSLETTER_LINKS)]
                for i in range(frame.height)
            ]
        ),
        automation=pl.lit(None, pl.String),
    )
    automations = pl.DataFrame(
        {
            "type": "automation",
            "campaign_title": [title for _, title, _, _ in catalog.AUTOMATIONS],
            "utm_campaign": [f"flow_{key}" for key in AUTOMATION_KEYS],
            "subject_line": [subject for _, _, subject, _ in catalog.AUTOMATIONS],
            "send_time": period.start + 8 * HOUR,
            "link_path": [path for *_, path in catalog.AUTOMATIONS],
            "automation": AUTOMATION_KEYS,
        }
    )
    frame = pl.concat([frame.drop("day", "hour"), automations], how="diagonal_relaxed")
    frame = frame.with_columns(campaign=pl.int_range(pl.len()))
    return frame.with_columns(
        campaign_id=hex_ids(frame["campaign"].to_numpy(), salt=0xCA4, length=10)
    )


def _exits(
    rng, members: pl.DataFrame, regular: pl.DataFrame, shop: Shop, period: Period
) -> pl.DataFrame:
    """Who leaves the list and when: unsubscribes after a campaign, cleaned after a hard bounce."""
    n = members.height
    protected = members["person"].is_in(shop.recoveries["person"].implode()).to_numpy()
    opt = members["opted_in_at"].to_numpy()
    send_times = regular["send_time"].to_numpy()
    first = np.searchsorted(send_times, opt, side="left")
    available = len(send_times) - first
    leaves = exact_share(rng, (available > 0) & ~protected, 0.08)
    k = first + (rng.random(n) * np.maximum(available, 1)).astype(np.int64)
    k = np.minimum(k, len(send_times) - 1)
    unsub_at = (
        send_times[k] + lognormal_seconds(rng, n, 5 * HOUR, 1.0, 10 * MINUTE, 4 * DAY)
        if len(send_times)
        else opt
    )
    leaves &= unsub_at < period.end
    bad = exact_share(
        rng, ~protected & ~leaves & (opt + WELCOME_DELAY + MINUTE < period.end), 0.01, minimum=1
    )
    cleaned_at = opt + WELCOME_DELAY + MINUTE
    return members.with_columns(
        unsubscribed_at=pl.Series(np.where(leaves, unsub_at, -1)),
        unsubscribe_campaign=pl.Series(
            np.where(leaves, regular["campaign"].to_numpy()[k] if len(send_times) else -1, -1)
        ),
        cleaned_at=pl.Series(np.where(bad, cleaned_at, -1)),
        is_bad_mailbox=pl.Series(bad),
    ).with_columns(
        left_at=pl.when(pl.col("unsubscribed_at") >= 0)
        .then("unsubscribed_at")
        .when(pl.col("cleaned_at") >= 0)
        .then("cleaned_at")
        .otherwise(period.end)
    )


def _sends(rng, members, campaigns, regular, shop: Shop, period: Period) -> pl.DataFrame:
    """Every delivery to a member who is on the list at send time."""
    send_times = regular["send_time"].to_numpy()
    opt = members["opted_in_at"].to_numpy()
    left = members["left_at"].to_numpy()
    i0 = np.searchsorted(send_times, opt, side="left")
    i1 = np.searchsorted(send_times, left, side="left")
    count = np.maximum(i1 - i0, 0)
    member = np.repeat(members["member"].to_numpy(), count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    index = np.repeat(i0, count) + offset
    regular_sends = pl.DataFrame(
        {
            "member": member,
            "campaign": regular["campaign"].to_numpy()[index],
            "sent_at": send_times[index],
        }
    )
    auto = campaigns.filter(pl.col("type") == "automation").select("automation", "campaign")
    triggers = (
        _automation_triggers(members, shop)
        .join(auto, on="automation", maintain_order="left")
        .drop("automation")
    )
    sends = pl.concat([regular_sends, triggers.select("member", "campaign", "sent_at")])
    sends = sends.join(
        members.select("member", "opted_in_at", "left_at", "is_bad_mailbox"),
        on="member",
        maintain_order="left",
    )
    sends = sends.filter(
        (pl.col("sent_at") >= pl.col("opted_in_at"))
        & (pl.col("sent_at") < pl.col("left_at"))
        & (pl.col("sent_at") < period.end)
    )
    sends = sends.sort("sent_at", "member", "campaign")
    n = sends.height
    first_of_member = (
        sends.select(pl.int_range(pl.len()).over("member") == 0).to_series().to_numpy()
    )
    bounce_hard = sends["is_bad_mailbox"].to_numpy() & first_of_member
    soft = chance(rng, n, 0.008) & ~sends["is_bad_mailbox"].to_numpy()
    status = np.where(bounce_hard, "hard", np.where(soft, "soft", "sent"))
    sends = sends.with_columns(status=pl.Series(status)).filter(
        ~pl.col("is_bad_mailbox") | pl.Series(first_of_member)
    )
    return sends.drop("opted_in_at", "left_at", "is_bad_mailbox").with_columns(
        send=pl.int_range(pl.len())
    )


def _automation_triggers(members: pl.DataFrame, shop: Shop) -> pl.DataFrame:
    m = members.select("member", "person", "opted_in_at")
    welcome = m.select(
        "member",
        "person",
        sent_at=pl.col("opted_in_at") + WELCOME_DELAY,
        automation=pl.lit("welcome"),
    )
    # The first abandoned checkout whose reminder falls in the membership.
    abandoned = (
        shop.checkouts.select("person", sent_at=pl.col("checkout_at") + REMINDER_DELAY)
        .join(m, on="person", maintain_order="left")
        .filter(pl.col("sent_at") > pl.col("opted_in_at"))
        .group_by("member", "person")
        .agg(pl.col("sent_at").min())
        .with_columns(automation=pl.lit("abandoned_checkout"))
    )
    orders = (
        shop.orders.filter(~pl.col("is_test") & pl.col("cancelled_at").lt(0))
        .group_by("person")
        .agg(first=pl.col("ordered_at").min(), last=pl.col("ordered_at").max())
    )
    by_order = orders.join(m, on="person", maintain_order="left")
    after_order = [
        by_order.select(
            "member",
            "person",
            sent_at=pl.col("first") + 2 * DAY,
            automation=pl.lit("post_purchase"),
        ),
        by_order.select(
            "member",
            "person",
            sent_at=pl.col("first") + 14 * DAY,
            automation=pl.lit("review_request"),
        ),
        by_order.select(
            "member", "person", sent_at=pl.col("last") + 90 * DAY, automation=pl.lit("win_back")
        ),
    ]
    frames = [welcome, abandoned.select(welcome.columns), *after_order]
    return pl.concat(frames)


def _activity(rng, sends, members, campaigns, shop: Shop, period: Period) -> pl.DataFrame:
    """Opens hours to days after the send, clicks seconds after an open, bounces a minute after."""
    s = sends.join(
        members.select("member", "person", "engagement", "unsubscribe_campaign", "unsubscribed_at"),
        on="member",
        maintain_order="left",
    ).join(
        campaigns.select("campaign", is_auto=pl.col("type") == "automation"),
        on="campaign",
        maintain_order="left",
    )
    n = s.height
    delivered = s["status"].to_numpy() == "sent"
    is_auto = s["is_auto"].to_numpy()
    engagement = s["engagement"].to_numpy()
    p_open = np.clip(engagement * np.where(is_auto, 1.6, 1.0) + 0.05, 0, 0.92)
    opened = delivered & chance(rng, n, p_open)
    unsub_here = s["unsubscribe_campaign"].to_numpy() == s["campaign"].to_numpy()
    opened |= delivered & unsub_here
    n_opens = np.where(opened, 1 + pick(rng, n, [0.6, 0.25, 0.15]), 0)
    sent_at = s["sent_at"].to_numpy()
    first_open = sent_at + lognormal_seconds(rng, n, 4 * HOUR, 1.3, 60, 6 * DAY)
    first_open = np.where(
        unsub_here, np.minimum(first_open, s["unsubscribed_at"].to_numpy() - MINUTE), first_open
    )
    clicked = opened & chance(rng, n, np.clip(0.15 + 0.5 * engagement, 0, 0.8)) & ~unsub_here
    click_at = first_open + rng.integers(10, 120, n)

    # The reminder that recovered a checkout: opened and clicked exactly when the shop says.
    rec = shop.recoveries.join(
        shop.checkouts.filter(pl.col("kind") == CHECKOUT_RECOVERED).select("person"),
        on="person",
        maintain_order="left",
    )
    forced = s.select(pl.col("person"), pl.col("sent_at")).pipe(
        lookup,
        rec.select(
            "person",
            sent_at=pl.col("checkout_at") + REMINDER_DELAY,
            forced_open=pl.col("open_at"),
            forced_click=pl.col("click_at"),
        ),
        on=["person", "sent_at"],
    )
    is_forced = forced["forced_open"].is_not_null().to_numpy()
    first_open = np.where(is_forced, forced["forced_open"].fill_null(0).to_numpy(), first_open)
    click_at = np.where(is_forced, forced["forced_click"].fill_null(0).to_numpy(), click_at)
    opened |= is_forced
    clicked |= is_forced
    n_opens = np.where(is_forced, np.maximum(n_opens, 1), n_opens)

    send = s["send"].to_numpy()
    max_opens = 3
    gaps = lognormal_seconds(rng, n * max_opens, 10 * HOUR, 1.2, 5 * MINUTE, 5 * DAY).reshape(
        n, max_opens
    )
    gaps[:, 0] = 0
    open_times = first_open[:, None] + np.cumsum(gaps, axis=1)
    rows, k = np.nonzero(np.arange(max_opens)[None, :] < n_opens[:, None])
    opens = pl.DataFrame(
        {
            "send": send[rows],
            "action": "open",
            "timestamp": open_times[rows, k],
            "is_recovery": False,
        }
    )
    clicks = pl.DataFrame(
        {
            "send": send[clicked],
            "action": "click",
            "timestamp": click_at[clicked],
            "is_recovery": is_forced[clicked],
        }
    )
    bounced = ~delivered
    bounces = pl.DataFrame(
        {
            "send": send[bounced],
            "action": "bounce",
            "timestamp": sent_at[bounced] + MINUTE,
            "is_recovery": False,
        }
    )
    activity = pl.concat([opens, clicks, bounces]).filter(pl.col("timestamp") < period.end)
    activity = activity.join(
        sends.select("send", "campaign", "member", "status"), on="send", maintain_order="left"
    )
    return activity.sort("send", "timestamp", "action").with_columns(
        activity_id=pl.int_range(pl.len())
    )
