"""Matomo: the actions of every planned visit, bots, and the split of a visit at a mid-visit login
(Matomo starts a new visit), numbered as Matomo numbers them. Times are unix seconds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from devkit.demo import catalog
from devkit.demo.email import Email
from devkit.demo.shop import Shop
from devkit.demo.support import Support
from devkit.demo.util import (
    DAY,
    Period,
    Streams,
    chance,
    group_cumsum,
    lognormal_seconds,
    lookup,
    pick,
    rank_in_groups,
)
from devkit.demo.visit_plan import (
    ABANDON,
    BROWSE,
    CLICK,
    COLLEAGUE_FORM,
    CONTACT,
    EMAIL_CHANNEL,
    MID,
    ORDER,
    SHARED,
    SIGNUP,
    WHOLE,
    device_attributes,
    plan_visits,
)

HUMAN_MAX_ACTIONS = 19  # humans never reach the bot rule's 20 actions


@dataclass(frozen=True)
class Web:
    devices: pl.DataFrame  # one row per device (visitorId), bots included
    visits: pl.DataFrame  # one row per Matomo visit
    actions: pl.DataFrame  # one row per action of a Matomo visit
    order_landing: (
        pl.DataFrame
    )  # order_id, landing path+query, referring site (for the shop records)
    checkout_landing: pl.DataFrame  # checkout_id, landing path+query, referring site


def build_web(
    streams: Streams,
    persons: pl.DataFrame,
    shop: Shop,
    email: Email,
    support: Support,
    period: Period,
) -> Web:
    page_table = catalog.pages()
    devices, plan = plan_visits(streams, persons, shop, email, support, period)
    bots, devices = _bots(streams("bots"), plan.height, devices, page_table, period)
    steps = _steps(streams("steps"), plan, page_table)
    visits, actions = _matomo_visits(plan, steps, devices, bots, page_table)
    order_landing = plan.filter(pl.col("kind") == ORDER).select(
        "order_id", landing_site=pl.col("landing_path_query"), referring_site="referrer_url"
    )
    checkout_landing = plan.filter(pl.col("kind") == ABANDON).select(
        "checkout_id", landing_site=pl.col("landing_path_query"), referring_site="referrer_url"
    )
    return Web(devices, visits, actions, order_landing, checkout_landing)


# ---- steps (actions) ------------------------------------------------------------------------

EVENT_CATEGORIES = pl.Enum(["form", "ecommerce"])
EVENT_ACTIONS = pl.Enum(["newsletter_signup", "lead_form", "contact", "add_to_cart"])
STEP_SCHEMA = {
    "visit": pl.Int32,
    "pos": pl.Int16,
    "type": catalog.ACTION_TYPES,
    "path": catalog.PATHS,
    "query": pl.String,
    "event_category": EVENT_CATEGORIES,
    "event_action": EVENT_ACTIONS,
    "event_name": pl.String,
    "goal_name": pl.String,
    "label": pl.String,  # site search keyword, content block, video title, form name
    "count": pl.Int16,  # site search results, items in an order or an abandoned cart
    "revenue_cents": pl.Int64,
    "order_id": pl.Int64,
    "is_anchor": pl.Boolean,
    "gap": pl.Int32,
    "splits_before": pl.Boolean,
}


def _steps(rng, plan: pl.DataFrame, page_table: pl.DataFrame) -> pl.DataFrame:
    """One row per action of a planned visit, timestamped around the visit's anchor
    (plan row i is visit i)."""
    n = plan.height
    kind = plan["kind"].to_numpy()
    tail_length = np.select(
        [np.isin(kind, [SIGNUP, CONTACT, COLLEAGUE_FORM]), kind == ABANDON, kind == ORDER],
        [4, 5, 6],
        0,
    )
    extras = _extras(rng, plan)
    extra_n = np.bincount(extras["visit"].to_numpy(), minlength=n) if extras.height else 0
    browse_n = np.where(kind == BROWSE, rng.geometric(0.3, n), rng.integers(0, 4, n))
    marathon = plan["is_marathon"].to_numpy()
    browse_n = np.where(marathon, rng.integers(14, HUMAN_MAX_ACTIONS, n), browse_n)
    browse_n = np.clip(browse_n, 0, HUMAN_MAX_ACTIONS - 1 - tail_length - extra_n)
    recovered = (kind == ORDER) & (plan["channel"].to_numpy() == EMAIL_CHANNEL)
    browse_n = np.where(recovered, 0, browse_n)

    visit = plan["visit"].to_numpy()
    landing = pl.DataFrame(
        {
            "visit": visit,
            "pos": 0,
            "type": "action",
            "path": plan["landing_path"].cast(catalog.PATHS),
            "query": plan["landing_query"],
            "is_anchor": np.isin(kind, [BROWSE, CLICK, SHARED]),
        }
    )
    browse_pages = page_table.filter(pl.col("weight") > 0)
    b_visit = np.repeat(visit, browse_n)
    browse = pl.DataFrame(
        {
            "visit": b_visit,
            "pos": 1 + rank_in_groups(browse_n),
            "type": "action",
            "path": browse_pages["path"]
            .cast(catalog.PATHS)
            .gather(pick(rng, len(b_visit), browse_pages["weight"].to_numpy())),
        }
    )
    parts = [landing, browse, extras, *_tails(plan, recovered)]
    steps = pl.concat([_with_schema(f) for f in parts if f.height])
    steps = steps.sort("visit", "pos")
    v = steps["visit"].to_numpy()
    counts = np.bincount(v, minlength=n)
    step = rank_in_groups(counts)
    m = len(v)
    page_gap = lognormal_seconds(rng, m, 40, 0.9, 3, 1_200)
    page_gap = np.where(marathon[v], rng.integers(900, 1_500, m), page_gap)
    event_gap = rng.integers(5, 90, m)
    kind_gap = steps["gap"].to_numpy()
    gap = np.where(
        kind_gap == PAGE_GAP, page_gap, np.where(kind_gap == EVENT_GAP, event_gap, kind_gap)
    )
    gap = np.where(kind_gap == CHECKOUT_GAP, plan["checkout_gap"].fill_null(90).to_numpy()[v], gap)
    gap = np.where(step == 0, 0, gap)
    elapsed = group_cumsum(gap, counts)
    is_anchor = steps["is_anchor"].to_numpy()
    if np.bincount(v[is_anchor], minlength=n).max(initial=1) != 1 or is_anchor.sum() != n:
        raise AssertionError("generator bug: every planned visit needs exactly one anchor step")
    anchor_elapsed = np.zeros(n, dtype=np.int64)
    anchor_elapsed[v[is_anchor]] = elapsed[is_anchor]
    timestamp = plan["anchor_at"].to_numpy()[v] + elapsed - anchor_elapsed[v]
    # A login in the middle of a browsing visit happens at a random later step.
    login_mid = plan["login"].to_numpy()[v] == MID
    browse_split = (1 + rng.random(n) * np.maximum(browse_n, 1)).astype(np.int64)[v]
    browsing = np.isin(kind[v], [BROWSE, SHARED])
    splits = np.where(browsing, step == browse_split, steps["splits_before"].to_numpy()) & login_mid
    return steps.with_columns(
        step=pl.Series(step, dtype=pl.Int16),
        timestamp=pl.Series(timestamp),
        splits_before=pl.Series(splits),
    ).drop("gap", "is_anchor")


def _extras(rng, plan: pl.DataFrame) -> pl.DataFrame:
    """Actions of other Matomo types some visits have after browsing (positions 60-64): a site
    search, a content impression, a video played, a download, a click to another site."""
    n = plan.height
    visit = plan["visit"].to_numpy()
    draws = [  # (type, share of visits, gap, position, extra fields)
        ("search", 0.06, PAGE_GAP, 60),
        ("content", 0.08, EVENT_GAP, 61),
        ("media", 0.02, EVENT_GAP, 62),
        ("download", 0.04, EVENT_GAP, 63),
        ("outlink", 0.03, EVENT_GAP, 64),
    ]
    frames = []
    for kind, share, gap, pos in draws:  # five action types
        rows = visit[chance(rng, n, share)]
        k = len(rows)
        fields: dict[str, object] = {}
        if kind == "search":
            fields = {
                "path": "/search",
                "label": np.array(catalog.SEARCH_TERMS)[
                    rng.integers(0, len(catalog.SEARCH_TERMS), k)
                ],
                "count": rng.integers(0, 13, k),
            }
        elif kind == "content":
            fields = {"label": np.array(catalog.CONTENT_BLOCKS)[rng.integers(0, 3, k)]}
        elif kind == "media":
            fields = {"label": np.array(catalog.VIDEOS)[rng.integers(0, len(catalog.VIDEOS), k)]}
        elif kind == "download":
            fields = {
                "path": np.array(catalog.DOWNLOADS)[rng.integers(0, len(catalog.DOWNLOADS), k)]
            }
        else:
            fields = {"path": np.array(catalog.OUTLINKS)[rng.integers(0, len(catalog.OUTLINKS), k)]}
        frame = pl.DataFrame({"visit": rows, "pos": pos, "type": kind, "gap": gap, **fields})
        if kind == "search":
            frame = frame.with_columns(
                query=pl.format("q={}", pl.col("label").str.replace_all(" ", "+"))
            )
        frames.append(_with_schema(frame))
    return pl.concat(frames).sort("visit", "pos")


def _with_schema(frame: pl.DataFrame) -> pl.DataFrame:
    missing = [
        pl.lit(None, dtype).alias(k) for k, dtype in STEP_SCHEMA.items() if k not in frame.columns
    ]
    frame = frame.with_columns(missing).select(list(STEP_SCHEMA)).cast(STEP_SCHEMA)
    return frame.with_columns(
        is_anchor=pl.col("is_anchor").fill_null(False),
        gap=pl.col("gap").fill_null(PAGE_GAP),
        splits_before=pl.col("splits_before").fill_null(False),
    )


# Gap codes of a step (seconds before it): a page view's, an event's, the order's checkout gap.
PAGE_GAP, EVENT_GAP, CHECKOUT_GAP = -1, -2, -3


def _step(
    frame: pl.DataFrame,
    pos: int,
    kind: str,
    anchor: pl.Expr | bool = False,
    gap: int = PAGE_GAP,
    **fields,
) -> pl.DataFrame:
    """One step (action) for every visit of `frame`; `fields` are step columns as expressions."""
    anchor_expr = anchor if isinstance(anchor, pl.Expr) else pl.lit(anchor)
    return frame.select(
        "visit",
        pos=pl.lit(pos),
        type=pl.lit(kind),
        is_anchor=anchor_expr,
        gap=pl.lit(gap),
        **fields,
    )


def _event(
    frame: pl.DataFrame, pos: int, category: str, action: pl.Expr, name: pl.Expr, anchor: bool
) -> pl.DataFrame:
    return _step(
        frame,
        pos,
        "event",
        anchor,
        EVENT_GAP,
        event_category=pl.lit(category),
        event_action=action,
        event_name=name,
    )


def _tails(plan: pl.DataFrame, recovered: np.ndarray) -> list[pl.DataFrame]:
    """The kind-specific end of a visit: a form, a checkout, an order. Positions from 100 on."""
    p = plan.with_columns(is_recovered=pl.Series(recovered))
    forms = p.filter(pl.col("kind").is_in([SIGNUP, CONTACT, COLLEAGUE_FORM]))
    action = pl.col("form_action")
    form_page = (
        pl.when(action == "newsletter_signup")
        .then(pl.lit("/pages/newsletter"))
        .when(pl.col("kind") == COLLEAGUE_FORM)
        .then(pl.lit("/pricing"))
        .when(action == "lead_form")
        .then(pl.lit("/pages/office-guide"))
        .otherwise(pl.lit("/contact"))
    )
    goal = (
        pl.when(action == "newsletter_signup")
        .then(pl.lit("Newsletter sign-up"))
        .otherwise(pl.lit("Lead"))
    )
    shopping = p.filter(pl.col("kind").is_in([ABANDON, ORDER]) & ~pl.col("is_recovered"))
    checkout = p.filter(pl.col("kind").is_in([ABANDON, ORDER]))
    orders = p.filter(pl.col("kind") == ORDER)
    form_name = (
        pl.when(action == "newsletter_signup")
        .then(pl.lit("newsletter"))
        .when(action == "lead_form")
        .then(pl.lit("office-guide"))
        .otherwise(pl.lit("contact"))
    )
    abandoned = p.filter(pl.col("kind") == ABANDON)
    price = pl.col("handle").replace_strict(
        {handle: cents for handle, _, cents in catalog.PRODUCTS}, default=None
    )
    tails = [
        _step(forms, 100, "action", path=form_page),
        # Form Analytics: the form was interacted with before it was sent
        _step(forms, 101, "form", gap=EVENT_GAP, label=form_name),
        _event(forms, 102, "form", action, pl.col("form_email"), anchor=True),
        _step(forms.filter(pl.col("kind") != COLLEAGUE_FORM), 103, "goal", gap=1, goal_name=goal),
        _step(shopping, 100, "action", path=pl.format("/products/{}", "handle")),
        _event(shopping, 101, "ecommerce", pl.lit("add_to_cart"), pl.col("handle"), anchor=False),
        _step(shopping, 102, "action", path=pl.lit("/cart")),
        _step(
            checkout,
            103,
            "action",
            pl.col("kind") == ABANDON,
            path=pl.lit("/checkout"),
            splits_before=pl.col("kind") == ORDER,
        ),
        _step(orders, 104, "action", True, CHECKOUT_GAP, path=pl.lit("/checkout/thank-you")),
        _step(
            orders,
            105,
            "ecommerceOrder",
            gap=0,
            revenue_cents=pl.col("revenue_cents"),
            order_id=pl.col("order_id"),
        ),
        # Matomo records the cart left at checkout (the shop's checkout is the evidence)
        _step(
            abandoned, 106, "ecommerceAbandonedCart", gap=0, revenue_cents=price, count=pl.lit(1)
        ),
    ]
    return [t for t in tails if t.height]


# ---- bots -----------------------------------------------------------------------------------


def _bots(rng, human_visits: int, devices: pl.DataFrame, page_table: pl.DataFrame, period: Period):
    """~2.5 % of visits: HeadlessChrome, or fast crawlers (≥ 20 actions in fewer seconds)."""
    n_visits = max(4, round(human_visits * 0.025 / 0.975))
    n_bots = max(2, n_visits // 3)
    first = devices.height
    frame = pl.DataFrame({"device": first + np.arange(n_bots), "owner": np.full(n_bots, -1)})
    bot_devices = device_attributes(rng, frame, np.zeros(n_bots, dtype=np.int64))
    crawler = np.arange(n_bots) % 2 == 1
    bot_devices = bot_devices.with_columns(
        browser_name=pl.Series(np.where(crawler, "Chrome", catalog.BOT_BROWSERS[0])),
        operating_system=pl.lit("GNU/Linux"),
        is_bot=pl.lit(True),
        is_crawler=pl.Series(crawler),
    )
    device = first + rng.integers(0, n_bots, n_visits)
    is_crawler = crawler[device - first]
    actions = np.where(is_crawler, rng.integers(20, 46, n_visits), rng.integers(3, 16, n_visits))
    start = period.start + (rng.random(n_visits) * (period.end - period.start - DAY)).astype(
        np.int64
    )
    b_visit = np.repeat(np.arange(n_visits), actions)
    step = np.arange(len(b_visit)) - np.repeat(np.cumsum(actions) - actions, actions)
    crawl = is_crawler[b_visit]
    gap = np.where(
        crawl, chance(rng, len(b_visit), 0.3).astype(np.int64), rng.integers(1, 20, len(b_visit))
    )
    gap[step == 0] = 0
    elapsed = group_cumsum(gap, actions)
    pages_ = page_table.filter(pl.col("weight") > 0)["path"].cast(catalog.PATHS)
    bot_steps = pl.DataFrame(
        {
            "bot_visit": b_visit,
            "step": step,
            "path": pages_.gather(rng.integers(0, len(pages_), len(b_visit))),
            "timestamp": start[b_visit] + elapsed,
            "device": device[b_visit],
        }
    ).with_columns(type=pl.lit("action").cast(catalog.ACTION_TYPES))
    all_devices = pl.concat([devices.with_columns(is_crawler=pl.lit(False)), bot_devices])
    return bot_steps, all_devices


# ---- Matomo visits --------------------------------------------------------------------------


def _matomo_visits(
    plan: pl.DataFrame,
    steps: pl.DataFrame,
    devices: pl.DataFrame,
    bot_steps: pl.DataFrame,
    page_table: pl.DataFrame,
):
    """Split planned visits at a mid-visit login (Matomo starts a new visit) and number them."""
    v = steps["visit"].to_numpy()
    part = group_cumsum(
        steps["splits_before"].to_numpy().astype(np.int64), np.bincount(v, minlength=plan.height)
    )
    human = steps.with_columns(
        part=pl.Series(part, dtype=pl.Int8),
        device=plan["device"].gather(v).cast(pl.Int32),
        person=plan["person"].gather(v).cast(pl.Int32),
        is_bot=pl.lit(False),
    )
    bots = bot_steps.select(
        visit=(-1 - pl.col("bot_visit")).cast(pl.Int32),
        step=pl.col("step").cast(pl.Int16),
        type="type",
        path="path",
        timestamp="timestamp",
        device=pl.col("device").cast(pl.Int32),
        part=pl.lit(0, pl.Int8),
        person=pl.lit(-1, pl.Int32),
        is_bot=pl.lit(True),
    )
    actions = pl.concat([human, bots], how="diagonal")
    # One Matomo visit per (planned visit, part): rows of one are contiguous and in time order.
    visit_of, part_of, ts = (actions[c].to_numpy() for c in ("visit", "part", "timestamp"))
    new_part = np.r_[True, (visit_of[1:] != visit_of[:-1]) | (part_of[1:] != part_of[:-1])]
    index = np.cumsum(new_part) - 1
    starts = np.flatnonzero(new_part)
    counts = np.diff(np.r_[starts, len(index)])
    ends = starts + counts - 1
    device_of, person_of = actions["device"].to_numpy(), actions["person"].to_numpy()
    # Matomo's `actions` counts interactions: not goals and ecommerce conversions.
    conversion = actions["type"].is_in(CONVERSION_TYPES).to_numpy()
    interactions = np.bincount(index, weights=~conversion, minlength=len(starts)).astype(np.int64)
    order = np.lexsort((part_of[starts], visit_of[starts], device_of[starts], ts[starts]))
    id_visit = np.empty(len(starts), dtype=np.int64)
    id_visit[order] = 100_000 + np.arange(len(starts)) * 3 + 1
    by_device = np.lexsort((id_visit, device_of[starts]))
    visit_count = np.empty(len(starts), dtype=np.int64)
    visit_count[by_device] = 1 + rank_in_groups(np.unique(device_of[starts], return_counts=True)[1])
    row_id = id_visit[index]
    is_last = np.r_[index[1:] != index[:-1], True]
    time_spent = np.where(is_last, 0, np.r_[ts[1:], 0] - ts)
    actions = actions.with_columns(id_visit=pl.Series(row_id), time_spent=pl.Series(time_spent))
    actions = actions.gather(np.argsort(row_id, kind="stable"))
    visits = pl.DataFrame(
        {
            "id_visit": id_visit,
            "visit": visit_of[starts],
            "part": part_of[starts],
            "device": device_of[starts],
            "person": person_of[starts],
            "is_bot": visit_of[starts] < 0,
            "first_action_at": ts[starts],
            "last_action_at": ts[ends],
            "actions": interactions,
            "visit_count": visit_count,
        }
    ).sort("id_visit")
    return _visit_attributes(visits, plan, devices), actions.select(list(ACTION_SCHEMA)).cast(
        ACTION_SCHEMA
    )


CONVERSION_TYPES = ["goal", "ecommerceOrder", "ecommerceAbandonedCart"]
# A device whose id some visits send in upper case (the shop's server-side tracker after a
# login sends it so): every 25th device, on its even-numbered visits.
CASE_VARIANT_DEVICE_EVERY = 25

# Compact on purpose (the largest frame): URL, title and idpageview are built when encoding.
ACTION_SCHEMA = {
    "id_visit": pl.Int64, "visit": pl.Int32, "part": pl.Int8, "person": pl.Int32, "device": pl.Int32,
    "timestamp": pl.Int64, "step": pl.Int16, "type": catalog.ACTION_TYPES, "path": catalog.PATHS,
    "query": pl.String, "time_spent": pl.Int32, "event_category": EVENT_CATEGORIES,
    "event_action": EVENT_ACTIONS,
    "event_name": pl.String, "goal_name": pl.String, "label": pl.String, "count": pl.Int16,
    "revenue_cents": pl.Int64, "order_id": pl.Int64, "is_bot": pl.Boolean,
}  # fmt: skip
REFERRER_COLUMNS = [
    "referrer_name", "referrer_url", "referrer_keyword", "utm_source", "utm_medium", "utm_campaign",
    "utm_term",
]  # fmt: skip


def _visit_attributes(
    visits: pl.DataFrame, plan: pl.DataFrame, devices: pl.DataFrame
) -> pl.DataFrame:
    """Referrer, login and device fields; the part after a mid-visit login is an internal visit."""
    attributes = plan.select("visit", "login", "customer_id", "referrer_type", *REFERRER_COLUMNS)
    visits = visits.pipe(lookup, attributes, on="visit")
    internal = pl.col("part") == 1
    logged_in = (pl.col("login") == WHOLE) | ((pl.col("login") == MID) & internal)
    referrer_type = (
        pl.when(internal | pl.col("is_bot")).then(pl.lit("direct")).otherwise("referrer_type")
    )
    visits = visits.with_columns(
        *[pl.when(internal).then(None).otherwise(c).alias(c) for c in REFERRER_COLUMNS],
        user_id=pl.when(logged_in).then(pl.col("customer_id").cast(pl.String)),
        referrer_type=referrer_type,
    ).drop("login", "customer_id")
    device_columns = [
        "device",
        "visitor_id",
        "fingerprint",
        "device_type",
        "operating_system",
        "browser_name",
        "owner",
    ]
    visits = visits.pipe(lookup, devices.select(device_columns), on="device")
    case_variant = (
        ~pl.col("is_bot")
        & (pl.col("device") % CASE_VARIANT_DEVICE_EVERY == 0)
        & (pl.col("visit_count") % 2 == 0)
    )
    return visits.with_columns(
        visitor_id=pl.when(case_variant)
        .then(pl.col("visitor_id").str.to_uppercase())
        .otherwise("visitor_id")
    )
