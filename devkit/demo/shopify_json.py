"""The nested parts of a Shopify order as the Admin REST API returns them (docs/contracts.md §1.3):
line items with their discount allocations, tax lines, duties and tip line; shipping lines;
discount codes and applications; order tax lines; refunds with refund line items, order
adjustments and transactions. Money is a decimal string in the shop currency plus a `*_set` bag
(`shop_money` and `presentment_money`, each `{amount, currency_code}`), from the cents
`shop_money.py` decided. Frames are keyed by `basket` (one order per basket)."""

from __future__ import annotations

import polars as pl

from devkit.demo import catalog
from devkit.demo.shop_money import (
    BUNDLE_PERCENT,
    BUNDLE_TITLE,
    FREE_SHIPPING_CODE,
    REFUND_FULL,
    REFUND_GOODWILL,
    REFUND_LINE,
)
from devkit.demo.util import iso_shop, money, nullable

SHIPPING_LINE_ID_BASE = 4_900_000_000_000
GATEWAY = "shopify_payments"
SHIPPING_TITLES = {
    "DE": "Standard",
    "CH": "International (duties paid)",
    "US": "International Express",
}


def money_set(cents: str | pl.Expr) -> pl.Expr:
    """Shopify's MoneyBag: the amount in the shop currency and in the order's presentment
    currency (columns `fx`, `presentment_currency` of the frame)."""
    expr = pl.col(cents) if isinstance(cents, str) else cents
    return pl.struct(
        shop_money=pl.struct(amount=money(expr), currency_code=pl.lit(catalog.CURRENCY)),
        presentment_money=pl.struct(
            amount=money((expr * pl.col("fx")).round(0).cast(pl.Int64)),
            currency_code="presentment_currency",
        ),
    )


def tax_line(cents: str, title: str = "tax_title", rate: str = "tax_rate") -> pl.Expr:
    return pl.struct(
        price=money(cents),
        rate=rate,
        title=title,
        price_set=money_set(cents),
        channel_liable=pl.lit(False),
    )


def _listed(*items: pl.Expr) -> pl.Expr:
    """A list of the items that are not null (each item null when it does not apply)."""
    return pl.concat_list(list(items)).list.drop_nulls()


def _allocation(cents: str, index: pl.Expr) -> pl.Expr:
    return nullable(
        pl.col(cents) > 0,
        pl.struct(
            amount=money(cents), amount_set=money_set(cents), discount_application_index=index
        ),
    )


def line_items(orders: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """basket, line_items: the order's lines (merchandise, then a tip line if tipped)."""
    flags = orders.select("basket", "market_code", *_application_indexes())
    frame = lines.join(flags, on="basket", how="left", maintain_order="left")
    merchandise = ~pl.col("is_tip")
    duty = pl.struct(
        id=(pl.col("line_item_id") + 2).cast(pl.String),
        harmonized_system_code=pl.lit("940390"),
        country_code_of_origin=pl.lit("DE"),
        shop_money=pl.struct(amount=money("duty_cents"), currency_code=pl.lit(catalog.CURRENCY)),
        presentment_money=money_set("duty_cents").struct.field("presentment_money"),
        tax_lines=pl.lit([], pl.List(pl.Struct({"price": pl.String}))),
    )
    item = pl.struct(
        id="line_item_id",
        admin_graphql_api_id=pl.format("gid://shopify/LineItem/{}", "line_item_id"),
        product_id="product_id",
        variant_id="variant_id",
        title="title",
        name="title",
        variant_title=pl.lit(None, pl.String),
        vendor=nullable(merchandise, pl.lit("Deskly")),
        sku="sku",
        quantity="quantity",
        price=money("price_cents"),
        price_set=money_set("price_cents"),
        total_discount=money(pl.lit(0)),
        total_discount_set=money_set(pl.lit(0)),
        taxable=merchandise,
        requires_shipping=merchandise,
        gift_card=pl.lit(False),
        product_exists=merchandise,
        fulfillment_status=pl.lit(None, pl.String),
        tip_payment_gateway=nullable(~merchandise, pl.lit(GATEWAY)),
        tip_payment_method=nullable(~merchandise, pl.lit("card")),
        tax_lines=_listed(nullable(pl.col("tax_cents") > 0, tax_line("tax_cents"))),
        discount_allocations=_listed(
            _allocation("bundle_cents", pl.col("bundle_index")),
            _allocation("code_cents", pl.col("code_index")),
        ),
        duties=_listed(nullable(pl.col("duty_cents") > 0, duty)),
    )
    return frame.sort("basket", "line").group_by("basket", maintain_order=True).agg(line_items=item)


def _application_indexes() -> list[pl.Expr]:
    """Each discount's index in the order's discount_applications: bundle, code, free shipping."""
    has_bundle = (pl.col("bundle_cents") > 0).cast(pl.Int64)
    has_code = (pl.col("discount_cents") > 0).cast(pl.Int64)
    return [
        pl.lit(0, pl.Int64).alias("bundle_index"),
        has_bundle.alias("code_index"),
        (has_bundle + has_code).alias("shipping_index"),
    ]


def shipping_lines() -> pl.Expr:
    """The order's shipping line (one per order), with its discount and tax."""
    after = pl.col("shipping_cents") - pl.col("shipping_discount_cents")
    title = pl.col("market_code").replace_strict(SHIPPING_TITLES, return_dtype=pl.String)
    line = pl.struct(
        id=SHIPPING_LINE_ID_BASE + pl.col("basket") * 7,
        title=pl.when(pl.col("shipping_cents") == 0).then(pl.lit("Free shipping")).otherwise(title),
        code=pl.format("{}-{}", "market_code", pl.lit("STD")),
        source=pl.lit("shopify"),
        price=money("shipping_cents"),
        price_set=money_set("shipping_cents"),
        discounted_price=money(after),
        discounted_price_set=money_set(after),
        carrier_identifier=pl.lit(None, pl.String),
        requested_fulfillment_service_id=pl.lit(None, pl.String),
        phone=pl.lit(None, pl.String),
        is_removed=pl.lit(False),
        tax_lines=_listed(
            nullable(pl.col("shipping_tax_cents") > 0, tax_line("shipping_tax_cents"))
        ),
        discount_allocations=_listed(
            _allocation(
                "shipping_discount_cents",
                (pl.col("bundle_cents") > 0).cast(pl.Int64)
                + (pl.col("discount_cents") > 0).cast(pl.Int64),
            )
        ),
    )
    return pl.concat_list(line)


def discount_codes() -> pl.Expr:
    code = nullable(
        pl.col("code").is_not_null(),
        pl.struct(code="code", amount=money("discount_cents"), type=pl.lit("percentage")),
    )
    freeship = nullable(
        pl.col("shipping_discount_cents") > 0,
        pl.struct(
            code=pl.lit(FREE_SHIPPING_CODE),
            amount=money("shipping_discount_cents"),
            type=pl.lit("shipping"),
        ),
    )
    return _listed(code, freeship)


def discount_applications() -> pl.Expr:
    def application(target: str, kind: str, value: pl.Expr, method: str, selection: str,
                    code: pl.Expr, title: pl.Expr) -> pl.Expr:  # fmt: skip
        return pl.struct(
            target_type=pl.lit(target),
            type=pl.lit(kind),
            value=pl.format("{}.0", value),
            value_type=pl.lit("percentage"),
            allocation_method=pl.lit(method),
            target_selection=pl.lit(selection),
            code=code,
            title=title,
        )

    none = pl.lit(None, pl.String)
    return _listed(
        nullable(
            pl.col("bundle_cents") > 0,
            application("line_item", "automatic", pl.lit(BUNDLE_PERCENT), "across", "entitled",
                        none, pl.lit(BUNDLE_TITLE)),
        ),
        nullable(
            pl.col("discount_cents") > 0,
            application("line_item", "discount_code", pl.col("discount_percent"), "across", "all",
                        pl.col("code"), pl.col("code")),
        ),
        nullable(
            pl.col("shipping_discount_cents") > 0,
            application("shipping_line", "discount_code", pl.lit(100), "each", "all",
                        pl.lit(FREE_SHIPPING_CODE), pl.lit(FREE_SHIPPING_CODE)),
        ),
    )  # fmt: skip


def order_tax_lines() -> pl.Expr:
    return _listed(nullable(pl.col("tax_cents") > 0, tax_line("tax_cents")))


def duties_set() -> pl.Expr:
    return nullable(pl.col("duties_cents") > 0, money_set("duties_cents"))


def refunds(orders: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """basket, refund: the order's refund (refunded orders only)."""
    refunded = orders.filter(pl.col("refunded_at") >= 0).select(
        "basket", "order_id", "refunded_at", "refund_kind", "refund_cents", "fx",
        "presentment_currency", "has_failed_refund_attempt", "is_taxes_included",
        shipping_after_cents=pl.col("shipping_cents") - pl.col("shipping_discount_cents"),
        shipping_tax_cents="shipping_tax_cents",
        refund_id=920_000_000_000 + (pl.col("order_id") % 1_000_000_000) * 3,
    )  # fmt: skip
    refunded_lines = lines.join(
        refunded.select("basket", "refund_kind"), on="basket", how="inner", maintain_order="left"
    ).filter(
        ~pl.col("is_tip")
        & (
            (pl.col("refund_kind") == REFUND_FULL)
            | ((pl.col("refund_kind") == REFUND_LINE) & (pl.col("line") == 0))
        )
    )
    refund_line_items = refunded_lines.group_by("basket", maintain_order=True).agg(
        refund_line_items=pl.struct(
            id=pl.col("line_item_id") + 1,
            line_item_id="line_item_id",
            quantity="quantity",
            restock_type=pl.lit("return"),
            location_id=pl.lit(None, pl.Int64),
            subtotal=money("after_cents"),
            subtotal_set=money_set("after_cents"),
            total_tax=money("tax_cents"),
            total_tax_set=money_set("tax_cents"),
        )
    )
    frame = refunded.join(refund_line_items, on="basket", how="left", maintain_order="left")
    empty_items = refund_line_items.schema["refund_line_items"]
    at = iso_shop("refunded_at")
    shipping_back = (pl.col("refund_kind") == REFUND_FULL) & (pl.col("shipping_after_cents") > 0)
    adjustment_cents = (
        pl.when(shipping_back)
        .then(-pl.col("shipping_after_cents"))
        .when(pl.col("refund_kind") == REFUND_GOODWILL)
        .then(-pl.col("refund_cents"))
    )
    adjustment_tax = pl.when(shipping_back).then(-pl.col("shipping_tax_cents")).otherwise(0)
    adjustment = nullable(
        shipping_back | (pl.col("refund_kind") == REFUND_GOODWILL),
        pl.struct(
            id=pl.col("refund_id") * 10 + 5,
            order_id="order_id",
            refund_id="refund_id",
            amount=money(adjustment_cents),
            amount_set=money_set(adjustment_cents),
            tax_amount=money(adjustment_tax),
            tax_amount_set=money_set(adjustment_tax),
            kind=pl.when(shipping_back)
            .then(pl.lit("shipping_refund"))
            .otherwise(pl.lit("refund_discrepancy")),
            reason=pl.when(shipping_back)
            .then(pl.lit("Shipping refund"))
            .otherwise(pl.lit("Refund discrepancy")),
        ),
    )

    def transaction(offset: int, status: str, error: str | None) -> pl.Expr:
        return pl.struct(
            id=pl.col("refund_id") * 10 + offset,
            order_id="order_id",
            kind=pl.lit("refund"),
            gateway=pl.lit(GATEWAY),
            status=pl.lit(status),
            message=pl.lit("Transaction approved" if error is None else "Card declined"),
            error_code=pl.lit(error, pl.String),
            amount=money("refund_cents"),
            currency="presentment_currency",
            created_at=at,
            processed_at=at,
            parent_id=pl.col("order_id") * 10 + 1,
            test=pl.lit(False),
            authorization=pl.lit(None, pl.String),
        )

    refund = pl.struct(
        id="refund_id",
        admin_graphql_api_id=pl.format("gid://shopify/Refund/{}", "refund_id"),
        order_id="order_id",
        created_at=at,
        processed_at=at,
        note=pl.when(pl.col("refund_kind") == REFUND_GOODWILL)
        .then(pl.lit("Goodwill"))
        .otherwise(pl.lit(None, pl.String)),
        restock=pl.col("refund_kind") != REFUND_GOODWILL,
        user_id=pl.lit(None, pl.Int64),
        refund_line_items=pl.col("refund_line_items").fill_null(pl.lit([], empty_items)),
        order_adjustments=_listed(adjustment),
        transactions=_listed(
            nullable(
                pl.col("has_failed_refund_attempt"), transaction(1, "failure", "card_declined")
            ),
            transaction(2, "success", None),
        ),
        duties=pl.lit([], pl.List(pl.Struct({"duty_id": pl.Int64}))),
        total_duties_set=money_set(pl.lit(0)),
    )
    return frame.select("basket", refund=refund)
