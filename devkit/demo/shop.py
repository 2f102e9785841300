"""The shop: orders (first, repeat, recovered, referral, cancelled, refunded, test), abandoned
checkouts, customers and the line items of every basket. Times are unix seconds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from devkit.demo import catalog
from devkit.demo.population import (
    BUYER,
    CHECKOUT_VARIANTS,
    LEAD,
    NEWSLETTER,
    email_variants,
    typed_email,
)
from devkit.demo.shop_money import price_orders
from devkit.demo.util import (
    DAY,
    HOUR,
    MINUTE,
    Period,
    Streams,
    chance,
    exact_share,
    lognormal_seconds,
    long_hex_ids,
    lookup,
    pick,
)

# How an abandoned checkout came about.
CHECKOUT_LEAD, CHECKOUT_BEFORE_FIRST, CHECKOUT_RECOVERED, CHECKOUT_CUSTOMER = 0, 1, 2, 3
REMINDER_DELAY = 4 * HOUR  # the abandoned-checkout automation sends 4 h after the checkout
ORDER_ID_BASE, CUSTOMER_ID_BASE, CHECKOUT_ID_BASE = (
    5_600_000_000_000,
    7_100_000_000_000,
    31_000_000_000_000,
)
LINE_ITEM_ID_BASE, REFUND_ID_BASE = 14_000_000_000_000, 920_000_000_000


@dataclass(frozen=True)
class Shop:
    orders: pl.DataFrame  # one row per order (final state + version times)
    checkouts: pl.DataFrame  # one row per abandoned checkout
    customers: pl.DataFrame  # one row per customer
    line_items: pl.DataFrame  # one row per line item of a basket
    order_lines: pl.DataFrame  # one row per line of an order, with its money (shop_money.py)
    optins: pl.DataFrame  # person, optin_at: buyers who subscribe to the newsletter at checkout
    recoveries: (
        pl.DataFrame
    )  # person, checkout_at, open_at, click_at (the reminder recovered the order)


def build_shop(
    streams: Streams, persons: pl.DataFrame, order_plan: pl.DataFrame, period: Period
) -> Shop:
    rng = streams("shop")
    p = persons.select(
        "person", "segment", "signup_kind", "t_first", "t_signup", "t_order1", "email", "phone"
    )
    orders = order_plan.pipe(lookup, p, on="person").sort("person", "order_seq")
    n = orders.height
    ordered_at = orders["ordered_at"].to_numpy().copy()
    is_first = orders["order_seq"].to_numpy() == 0
    presigned = (orders["signup_kind"].to_numpy() == NEWSLETTER) & (
        orders["t_signup"].to_numpy() < ordered_at
    )

    # Recovered first orders: checkout abandoned, reminder 4 h later, opened, clicked, ordered.
    open_delay = lognormal_seconds(rng, n, 3 * HOUR, 0.8, 10 * MINUTE, 30 * HOUR)
    click_at = ordered_at - rng.integers(3 * MINUTE, 8 * MINUTE, n)
    open_at = click_at - rng.integers(20, 90, n)
    checkout_at = open_at - open_delay - REMINDER_DELAY
    recovered = is_first & presigned & chance(rng, n, 0.25)
    recovered &= checkout_at > orders["t_signup"].to_numpy() + 30 * MINUTE
    recoveries = pl.DataFrame(
        {
            "person": orders["person"],
            "checkout_at": checkout_at,
            "open_at": open_at,
            "click_at": click_at,
        }
    ).filter(pl.Series(recovered))

    abandoned = _abandoned_checkouts(rng, persons, orders, recovered, checkout_at, period)
    n_checkouts = abandoned.height
    # Baskets: every abandoned checkout and every order that was not a recovery has its own.
    abandoned = abandoned.with_columns(basket=pl.int_range(pl.len()))
    recovered_basket = abandoned.filter(pl.col("kind") == CHECKOUT_RECOVERED).select(
        "person", "basket"
    )
    orders = orders.with_columns(
        is_recovered=pl.Series(recovered), is_first_order=pl.Series(is_first)
    )
    orders = orders.pipe(
        lookup, recovered_basket.rename({"basket": "recovered_basket"}), on="person"
    )
    orders = orders.with_columns(
        basket=pl.when("is_recovered")
        .then(pl.col("recovered_basket"))
        .otherwise(n_checkouts + pl.int_range(pl.len())),
        checkout_step_gap=pl.Series(rng.integers(60, 240, n)),
        email_variant=pl.Series(email_variants(rng, n, CHECKOUT_VARIANTS)),
        is_test=pl.lit(False),
    ).drop("recovered_basket")
    orders = _add_test_orders(rng, orders, period, n_checkouts)
    line_items = _line_items(rng, orders["basket"].max() + 1)
    totals = line_items.group_by("basket").agg(
        subtotal_cents=(pl.col("price_cents") * pl.col("quantity")).sum()
    )

    orders = orders.pipe(lookup, totals, on="basket")
    orders = _discounts(rng, orders, persons)
    orders = _lifecycle(rng, orders, period)
    orders = _number(orders, rng)
    orders, order_lines = price_orders(streams("shop_money"), orders, line_items)
    customers = _customers(orders)
    orders = orders.pipe(
        lookup, customers.select("person", "customer_id", "customer_email"), on="person"
    )
    abandoned = _number_checkouts(abandoned, totals, customers, orders)
    orders, abandoned = (
        frame.with_columns(_tokens(frame["basket"].to_numpy())) for frame in (orders, abandoned)
    )
    abandoned = abandoned.pipe(lookup, p.select("person", "email"), on="person")
    abandoned = abandoned.with_columns(
        checkout_email=typed_email(pl.col("email"), pl.col("email_variant"))
    )

    buyers = orders.filter(~pl.col("is_test") & pl.col("is_first_order"))
    optin = buyers.filter(
        ~pl.col("signup_kind").eq(NEWSLETTER) & pl.Series(chance(rng, buyers.height, 0.5))
    ).select("person", optin_at=pl.col("ordered_at") + 30)
    return Shop(orders, abandoned, customers, line_items, order_lines, optin, recoveries)


def _tokens(basket: np.ndarray) -> list[pl.Series]:
    """Checkout and cart tokens belong to a basket: a recovered order keeps its checkout's token."""
    return [
        long_hex_ids(basket, salt=0xC0FFEE).alias("checkout_token"),
        long_hex_ids(basket, salt=0xCA27).alias("cart_token"),
    ]


def _abandoned_checkouts(
    rng, persons, orders, recovered, recovered_checkout_at, period
) -> pl.DataFrame:
    segment = persons["segment"].to_numpy()
    t_first = persons["t_first"].to_numpy()
    n = len(segment)
    lead_at = (
        persons["t_signup"].to_numpy() + (rng.exponential(7.0, n) * DAY).astype(np.int64) + HOUR
    )
    lead = (segment == LEAD) & chance(rng, n, 0.15) & (lead_at < period.end - HOUR)
    t_order1 = persons["t_order1"].to_numpy()
    before_at = t_order1 - rng.integers(1 * DAY, 10 * DAY, n)
    before = (segment == BUYER) & chance(rng, n, 0.2) & (before_at > t_first + 10 * MINUTE)
    customer_at = t_order1 + rng.integers(5 * DAY, 60 * DAY, n)
    customer = (segment == BUYER) & chance(rng, n, 0.08) & (customer_at < period.end - HOUR)
    person = np.arange(n)
    rec_person = orders["person"].to_numpy()[recovered]
    frames = [
        pl.DataFrame({"person": person[lead], "checkout_at": lead_at[lead], "kind": CHECKOUT_LEAD}),
        pl.DataFrame(
            {
                "person": person[before],
                "checkout_at": before_at[before],
                "kind": CHECKOUT_BEFORE_FIRST,
            }
        ),
        pl.DataFrame(
            {
                "person": rec_person,
                "checkout_at": recovered_checkout_at[recovered],
                "kind": CHECKOUT_RECOVERED,
            }
        ),
        pl.DataFrame(
            {
                "person": person[customer],
                "checkout_at": customer_at[customer],
                "kind": CHECKOUT_CUSTOMER,
            }
        ),
    ]
    frame = pl.concat(
        [f.cast({"kind": pl.Int8, "checkout_at": pl.Int64, "person": pl.Int64}) for f in frames]
    )
    frame = frame.sort("checkout_at", "person", "kind")
    return frame.with_columns(
        email_variant=pl.Series(email_variants(rng, frame.height, CHECKOUT_VARIANTS))
    )


def _add_test_orders(rng, orders: pl.DataFrame, period: Period, n_checkouts: int) -> pl.DataFrame:
    k = max(1, round(0.01 * orders.height))
    at = period.start + (rng.random(k) * (period.end - period.start - DAY)).astype(np.int64)
    test = pl.DataFrame(
        {
            "person": np.full(k, -1),
            "order_seq": np.zeros(k, dtype=np.int64),
            "ordered_at": at,
            "is_test": True,
            "is_recovered": False,
            "is_first_order": False,
            "email": [catalog.TEST_ORDER_EMAIL.format(i + 1) for i in range(k)],
            "basket": n_checkouts + orders.height + np.arange(k),
            "checkout_step_gap": rng.integers(60, 240, k),
            "email_variant": np.zeros(k, dtype=np.int8),
        }
    )
    return pl.concat([orders, test], how="diagonal_relaxed")


def _line_items(rng, n_baskets: int) -> pl.DataFrame:
    count = 1 + pick(rng, n_baskets, [0.6, 0.3, 0.1])
    basket = np.repeat(np.arange(n_baskets), count)
    product = pick(rng, len(basket), catalog.PRODUCT_WEIGHTS)
    handles, titles, prices = zip(*catalog.PRODUCTS, strict=True)
    return pl.DataFrame(
        {
            "basket": basket,
            "line": np.arange(len(basket)) - np.repeat(np.cumsum(count) - count, count),
            "product": product,
            "handle": np.array(handles)[product],
            "title": np.array(titles)[product],
            "price_cents": np.array(prices)[product],
            "quantity": np.where(chance(rng, len(basket), 0.1), 2, 1),
            "line_item_id": LINE_ITEM_ID_BASE + np.arange(len(basket)) * 3,
        }
    ).with_columns(
        product_id=catalog.PRODUCT_ID_BASE + pl.col("product") * 1000 + 17,
        variant_id=catalog.VARIANT_ID_BASE + pl.col("product") * 100 + 3,
        sku=pl.format("DSK-{}", (pl.col("product") + 1).cast(pl.String).str.zfill(3)),
    )


def _discounts(rng, orders: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
    """WELCOME10 for subscribers' first orders, REF-<customer id> referrals, seasonal codes on
    repeats: the code and its percentage (shop_money.py allocates it to the lines)."""
    n = orders.height
    first = orders["is_first_order"].to_numpy()
    at = orders["ordered_at"].to_numpy()
    month = orders.select(pl.from_epoch("ordered_at").dt.month())["ordered_at"].to_numpy()
    welcome = first & (orders["signup_kind"].to_numpy() == NEWSLETTER) & chance(rng, n, 0.3)
    referral = first & ~welcome & chance(rng, n, 0.07)
    # The referrer: a random person whose first order came at least a day earlier.
    buyers = persons.filter(pl.col("t_order1") >= 0).sort("t_order1", "person")
    first_times = buyers["t_order1"].to_numpy()
    available = np.searchsorted(first_times, at - DAY, side="left")
    referral &= available > 0
    referrer = buyers["person"].to_numpy()[
        (rng.random(n) * np.maximum(available, 1)).astype(np.int64)
    ]
    seasonal = np.where(np.isin(month, [3, 4, 5]), 1, np.where(np.isin(month, [6, 7, 8]), 2, 3))
    season_code = ~first & chance(rng, n, 0.12) & ~orders["is_test"].to_numpy()
    code = np.where(
        welcome,
        "WELCOME10",
        np.where(season_code, np.array(["", "SPRING15", "SUMMER20", "AUTUMN10"])[seasonal], ""),
    )
    percent = np.where(welcome, 10, np.where(season_code, np.array([0, 15, 20, 10])[seasonal], 0))
    percent = np.where(referral, 10, percent)
    return orders.with_columns(
        discount_code=pl.Series(np.where(referral, "", code)).replace("", None),
        referrer_person=pl.Series(np.where(referral, referrer, -1)),
        discount_percent=pl.Series(percent),
    )


def _lifecycle(rng, orders: pl.DataFrame, period: Period) -> pl.DataFrame:
    """Cancellations (repeat orders), refunds weeks later, fulfilment; -1 where it never happens."""
    n = orders.height
    at = orders["ordered_at"].to_numpy()
    test = orders["is_test"].to_numpy()
    repeat = ~test & (orders["order_seq"].to_numpy() > 0)
    cancel_at = at + rng.integers(1 * HOUR, 20 * HOUR, n)
    target = round(0.02 * int((~test).sum()))
    cancelled = exact_share(
        rng, repeat & (cancel_at < period.end), target / max(1, int(repeat.sum()))
    )
    refund_at = at + rng.integers(14 * DAY, 42 * DAY, n)
    can_refund = ~test & ~cancelled & (refund_at < period.end - HOUR)
    refunded = exact_share(
        rng, can_refund, round(0.05 * int((~test).sum())) / max(1, int(can_refund.sum()))
    )
    fulfilled_at = at + rng.integers(1 * DAY, 3 * DAY, n)
    is_full_refund = chance(rng, n, 0.7)
    return orders.with_columns(
        cancelled_at=pl.Series(np.where(cancelled, cancel_at, -1)),
        refunded_at=pl.Series(np.where(refunded, refund_at, -1)),
        is_full_refund=pl.Series(is_full_refund),
        fulfilled_at=pl.Series(
            np.where(~cancelled & ~test & (fulfilled_at < period.end), fulfilled_at, -1)
        ),
    )


def _number(orders: pl.DataFrame, rng) -> pl.DataFrame:
    """Order ids and names by creation time; the typed checkout email."""
    orders = orders.sort("ordered_at", "person", "order_seq").with_columns(
        rank=pl.int_range(pl.len())
    )
    return orders.with_columns(
        order_id=ORDER_ID_BASE + pl.col("rank") * 9 + 1,
        order_name=pl.format("#{}", (1001 + pl.col("rank")).cast(pl.String)),
        order_email=typed_email(pl.col("email"), pl.col("email_variant")),
    ).drop("rank")


def _customers(orders: pl.DataFrame) -> pl.DataFrame:
    """One customer per buyer, created with an account at the first order's checkout."""
    first = orders.filter(pl.col("is_first_order") & ~pl.col("is_test")).sort(
        "ordered_at", "person"
    )
    return first.select(
        "person",
        "phone",
        customer_created_at=pl.col("ordered_at") - pl.col("checkout_step_gap") - 5,
        customer_email=pl.col("order_email"),
        customer_id=CUSTOMER_ID_BASE + pl.int_range(pl.len()) * 11 + 3,
    )


def _number_checkouts(abandoned, totals, customers, orders) -> pl.DataFrame:
    recovered_orders = orders.filter(pl.col("is_recovered")).select(
        "person", "order_id", "ordered_at"
    )
    frame = (
        abandoned.with_columns(checkout_id=CHECKOUT_ID_BASE + pl.int_range(pl.len()) * 5 + 2)
        .pipe(lookup, totals, on="basket")
        .pipe(
            lookup,
            customers.select("person", "customer_id", "customer_email", "customer_created_at"),
            on="person",
        )
        .pipe(lookup, recovered_orders.rename({"ordered_at": "completed_at"}), on="person")
    )
    recovered = pl.col("kind") == CHECKOUT_RECOVERED
    is_customer = pl.col("customer_created_at") < pl.col("checkout_at")
    return frame.with_columns(
        completed_at=pl.when(recovered).then("completed_at").otherwise(-1),
        recovered_order_id=pl.when(recovered).then("order_id"),
        customer_id=pl.when(is_customer).then("customer_id"),
        customer_email=pl.when(is_customer).then("customer_email"),
    ).drop("order_id", "customer_created_at")
