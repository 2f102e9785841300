"""What each order costs, as Shopify computes it (docs/contracts.md §1.3, "Shopify's order
arithmetic"): every amount of an order and its lines in integer cents of the shop currency (EUR),
decided here once, so the vendor JSON (`records.py`) and the ground truth (`truth.py`) read the
same numbers.

* A market per order: Germany (presentment EUR, prices include 19 % VAT), Switzerland
  (presentment CHF, 8.1 % import VAT added, 3 % duties) or the US (presentment USD, 7.25 % sales
  tax added, shipping untaxed). Refunded orders are German: a refund's transactions are then in
  the shop currency (the warehouse converts other currencies at the order's own rate).
* Discounts: an automatic "Accessory bundle" (15 % off accessories bought with a desk or chair,
  allocated to those lines), then the order's code (WELCOME10, seasonal, referral) allocated
  across every line, and a FREESHIP code on some orders without a code that pay shipping (allocated to the
  shipping line).
* Shipping per market (Germany: free from 100 EUR after discounts), taxed where the market taxes
  it; taxes per line and on shipping (included: the VAT share of the gross amount; added: on top).
* Tips: a tip line (`tip_payment_gateway`) on a few orders, never discounted or taxed.
* Refunds (the orders `_lifecycle` refunds): everything (line items, shipping as an order
  adjustment), one line, or a goodwill amount (a refund discrepancy); some start with a failed
  transaction.

subtotal = line items - line discounts; total = subtotal + shipping - shipping discounts +
tax (when not included) + tips + duties."""

from __future__ import annotations

import numpy as np
import polars as pl

from devkit.demo.util import chance, pick

MARKETS = pl.DataFrame(
    {
        "market": [0, 1, 2],
        "market_code": ["DE", "CH", "US"],
        "presentment_currency": ["EUR", "CHF", "USD"],
        "fx": [1.0, 0.94, 1.08],  # presentment units per shop-currency unit
        "is_taxes_included": [True, False, False],
        "tax_rate": [0.19, 0.081, 0.0725],
        "tax_title": ["DE MwSt", "CH MWST", "US Sales Tax"],
        "shipping_rate_cents": [490, 1990, 2990],
        "free_shipping_from_cents": [10_000, -1, -1],
        "is_shipping_taxed": [True, True, False],
        "duty_rate": [0.0, 0.03, 0.0],
    },
    schema_overrides={"market": pl.Int64},
)
MARKET_WEIGHTS = [0.82, 0.10, 0.08]
DE = 0
ANCHOR_PRODUCTS = [0, 1, 2]  # desks and the chair
ACCESSORY_FROM = 3  # products 3.. are accessories
BUNDLE_PERCENT = 15
BUNDLE_TITLE = "Accessory bundle"
FREE_SHIPPING_CODE = "FREESHIP"
TIP_CENTS = np.array([200, 300, 500])
# Merchandise line ids are shop.LINE_ITEM_ID_BASE + 3k; tip lines take the ids in between.
TIP_LINE_ID_BASE = 14_000_000_000_001
REFUND_FULL, REFUND_LINE, REFUND_GOODWILL = 0, 1, 2


def _rounded(expr: pl.Expr) -> pl.Expr:
    return expr.round(0).cast(pl.Int64)


def price_orders(
    rng, orders: pl.DataFrame, line_items: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(orders with their money columns, order lines with theirs and a tip line where tipped).

    `orders` needs basket, is_test, is_first_order, discount_code, discount_percent,
    cancelled_at, refunded_at, is_full_refund; `line_items` one row per line of every basket."""
    n = orders.height
    refunded = orders["refunded_at"].to_numpy() >= 0
    market = np.where(orders["is_test"].to_numpy() | refunded, DE, pick(rng, n, MARKET_WEIGHTS))
    orders = orders.with_columns(market=pl.Series(market, dtype=pl.Int64)).join(
        MARKETS, on="market", how="left", maintain_order="left"
    )
    lines = _priced_lines(orders, line_items)
    per_order = lines.group_by("basket").agg(
        line_items_cents=pl.col("line_total_cents").sum(),
        bundle_cents=pl.col("bundle_cents").sum(),
        discount_cents=pl.col("code_cents").sum(),
        subtotal_cents=pl.col("after_cents").sum(),
        line_tax_cents=pl.col("tax_cents").sum(),
        duties_cents=pl.col("duty_cents").sum(),
    )
    orders = orders.drop("discount_cents", "subtotal_cents", "total_cents", strict=False).join(
        per_order, on="basket", how="left", maintain_order="left"
    )
    no_code = pl.col("discount_code").is_null() & (pl.col("referrer_person") < 0)
    free_rate = (pl.col("free_shipping_from_cents") >= 0) & (
        pl.col("subtotal_cents") >= pl.col("free_shipping_from_cents")
    )
    shipping = pl.when(free_rate).then(0).otherwise(pl.col("shipping_rate_cents"))
    freeship = pl.Series(chance(rng, n, 0.35))
    tipped = pl.Series(chance(rng, n, 0.08))
    tip = pl.Series(TIP_CENTS[rng.integers(0, len(TIP_CENTS), n)])
    orders = orders.with_columns(shipping_cents=shipping).with_columns(
        shipping_discount_cents=pl.when(
            freeship
            & ~pl.col("is_test")
            & no_code
            & (pl.col("shipping_cents") > 0)
            & (pl.col("market") == DE)
        )
        .then("shipping_cents")
        .otherwise(0),
        tip_cents=pl.when(
            tipped
            & ~pl.col("is_test")
            & (pl.col("cancelled_at") < 0)
            & (pl.col("refunded_at") < 0)
            & (pl.col("market") != 1)
        )
        .then(tip)
        .otherwise(0),
    )
    shipping_after = pl.col("shipping_cents") - pl.col("shipping_discount_cents")
    rate = pl.col("tax_rate")
    shipping_tax = (
        pl.when(~pl.col("is_shipping_taxed"))
        .then(0)
        .when(pl.col("is_taxes_included"))
        .then(_rounded(shipping_after * rate / (1 + rate)))
        .otherwise(_rounded(shipping_after * rate))
    )
    orders = orders.with_columns(shipping_tax_cents=shipping_tax).with_columns(
        tax_cents=pl.col("line_tax_cents") + pl.col("shipping_tax_cents"),
        total_discount_cents=pl.col("bundle_cents")
        + pl.col("discount_cents")
        + pl.col("shipping_discount_cents"),
    )
    orders = orders.with_columns(
        total_cents=pl.col("subtotal_cents")
        + shipping_after
        + pl.when(pl.col("is_taxes_included")).then(0).otherwise(pl.col("tax_cents"))
        + pl.col("tip_cents")
        + pl.col("duties_cents")
    )
    orders = _refunds(rng, orders, lines)
    return orders, _with_tip_lines(orders, lines)


def _priced_lines(orders: pl.DataFrame, line_items: pl.DataFrame) -> pl.DataFrame:
    """The merchandise lines of the orders' baskets with discounts, tax and duties per line."""
    lines = line_items.join(
        orders.select(
            "basket", "is_test", "discount_percent", "is_taxes_included", "tax_rate", "duty_rate",
            "fx", "presentment_currency", "tax_title",
        ),
        on="basket",
        how="inner",
        maintain_order="left",
    )  # fmt: skip
    anchored = lines.group_by("basket").agg(
        has_anchor=pl.col("product").is_in(ANCHOR_PRODUCTS).any()
    )
    lines = lines.join(anchored, on="basket", how="left", maintain_order="left")
    total = pl.col("price_cents") * pl.col("quantity")
    bundled = pl.col("has_anchor") & (pl.col("product") >= ACCESSORY_FROM) & ~pl.col("is_test")
    lines = lines.with_columns(
        line_total_cents=total,
        bundle_cents=pl.when(bundled).then(_rounded(total * BUNDLE_PERCENT / 100)).otherwise(0),
    )
    lines = lines.with_columns(
        code_cents=_rounded(
            (pl.col("line_total_cents") - pl.col("bundle_cents")) * pl.col("discount_percent") / 100
        )
    )
    after = pl.col("line_total_cents") - pl.col("bundle_cents") - pl.col("code_cents")
    rate = pl.col("tax_rate")
    return lines.with_columns(after_cents=after).with_columns(
        tax_cents=pl.when(pl.col("is_taxes_included"))
        .then(_rounded(pl.col("after_cents") * rate / (1 + rate)))
        .otherwise(_rounded(pl.col("after_cents") * rate)),
        duty_cents=_rounded(pl.col("after_cents") * pl.col("duty_rate")),
        is_tip=pl.lit(False),
    )


def _with_tip_lines(orders: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """The lines plus one tip line (last) per tipped order."""
    tipped = orders.filter(pl.col("tip_cents") > 0).sort("basket")
    last = lines.group_by("basket").agg(pl.col("line").max())
    tips = tipped.select(
        "basket", "fx", "presentment_currency", "tax_title", "tax_rate", "is_taxes_included",
        "is_test", "discount_percent", "duty_rate",
        price_cents="tip_cents",
    ).join(last, on="basket", how="left", maintain_order="left").with_columns(
        line=pl.col("line") + 1,
        line_item_id=TIP_LINE_ID_BASE + pl.int_range(pl.len(), dtype=pl.Int64) * 3,
        quantity=pl.lit(1, pl.Int64),
        title=pl.lit("Tip"),
        handle=pl.lit(None, pl.String),
        sku=pl.lit(None, pl.String),
        product_id=pl.lit(None, pl.Int64),
        variant_id=pl.lit(None, pl.Int64),
        line_total_cents="price_cents",
        bundle_cents=pl.lit(0, pl.Int64),
        code_cents=pl.lit(0, pl.Int64),
        after_cents="price_cents",
        tax_cents=pl.lit(0, pl.Int64),
        duty_cents=pl.lit(0, pl.Int64),
        is_tip=pl.lit(True),
        has_anchor=pl.lit(False),
    )  # fmt: skip
    return pl.concat([lines, tips], how="diagonal_relaxed").sort("basket", "line")


def _refunds(rng, orders: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """How each refunded order is refunded, and the amount (cents, shop currency)."""
    n = orders.height
    first = lines.filter(pl.col("line") == 0).select(
        "basket",
        first_line_item_id="line_item_id",
        first_line_quantity="quantity",
        first_line_after_cents="after_cents",
        first_line_tax_cents="tax_cents",
    )
    orders = orders.join(first, on="basket", how="left", maintain_order="left")
    kind = np.where(
        orders["is_full_refund"].to_numpy(),
        REFUND_FULL,
        np.where(chance(rng, n, 0.5), REFUND_LINE, REFUND_GOODWILL),
    )
    goodwill = (pl.col("total_cents") * 0.15 / 100).round(0).cast(pl.Int64) * 100
    taxes_added = pl.when(pl.col("is_taxes_included")).then(0)
    return orders.with_columns(
        refund_kind=pl.Series(kind, dtype=pl.Int8),
        has_failed_refund_attempt=pl.Series(chance(rng, n, 0.1)),
    ).with_columns(
        refund_cents=pl.when(pl.col("refunded_at") < 0)
        .then(0)
        .when(pl.col("refund_kind") == REFUND_FULL)
        .then("total_cents")
        .when(pl.col("refund_kind") == REFUND_LINE)
        .then(
            pl.col("first_line_after_cents") + taxes_added.otherwise(pl.col("first_line_tax_cents"))
        )
        .otherwise(pl.min_horizontal(pl.max_horizontal(goodwill, pl.lit(500)), "total_cents"))
    )
