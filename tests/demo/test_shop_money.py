"""Shopify orders are generated as real shops' orders are shaped (docs/contracts.md §1.3): every
served order obeys Shopify's own arithmetic, re-stated here in plain Python from the JSON alone,
the truth holds the same amounts, and the dataset holds every shape the warehouse must handle."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import orjson
import polars as pl
import pytest

from tests.demo.helpers import latest, truth, vendor

pytestmark = pytest.mark.xdist_group("demo-dataset")


def cents(value: str | None) -> int:
    return int(Decimal(value or "0") * 100)


def shop(bag: dict | None) -> int:
    return cents(bag["shop_money"]["amount"]) if bag else 0


def allocations(items: list[dict]) -> int:
    return sum(cents(a["amount"]) for item in items for a in item["discount_allocations"])


def taxes(items: list[dict]) -> int:
    return sum(cents(t["price"]) for item in items for t in item["tax_lines"])


@pytest.fixture(scope="module")
def orders(dataset: Path) -> list[dict]:
    return [orjson.loads(text) for text in latest(vendor(dataset, "shopify", "orders"))["record"]]


def test_every_order_obeys_shopifys_arithmetic(orders: list[dict]) -> None:
    for order in orders:
        lines = [line for line in order["line_items"] if line["tip_payment_gateway"] is None]
        tips = [line for line in order["line_items"] if line["tip_payment_gateway"] is not None]
        shipping = order["shipping_lines"]
        gross = sum(cents(line["price"]) * line["quantity"] for line in order["line_items"])
        subtotal = sum(cents(line["price"]) * line["quantity"] for line in lines) - allocations(
            lines
        )
        shipping_after = sum(cents(s["price"]) for s in shipping) - allocations(shipping)
        tax = cents(order["total_tax"])
        total = (
            subtotal
            + shipping_after
            + (0 if order["taxes_included"] else tax)
            + cents(order["total_tip_received"])
            + shop(order["original_total_duties_set"])
        )
        assert cents(order["subtotal_price"]) == subtotal, order["id"]
        assert cents(order["total_price"]) == total, order["id"]
        assert cents(order["total_line_items_price"]) == gross, order["id"]
        assert cents(order["total_discounts"]) == allocations(lines) + allocations(shipping)
        assert tax == taxes(lines) + taxes(shipping), order["id"]
        assert cents(order["total_tip_received"]) == sum(cents(t["price"]) for t in tips)
        for name in ("total_price", "subtotal_price", "total_tax", "total_discounts"):
            assert shop(order[f"{name}_set"]) == cents(order[name]), (order["id"], name)
        assert shop(order["total_shipping_price_set"]) == sum(cents(s["price"]) for s in shipping)
        codes = sum(cents(code["amount"]) for code in order["discount_codes"])
        assert codes <= cents(order["total_discounts"])
        indexes = {
            a["discount_application_index"]
            for x in lines + shipping
            for a in x["discount_allocations"]
        }
        assert indexes == set(range(len(order["discount_applications"]))), order["id"]


def test_refunds_balance_their_line_items_adjustments_and_transactions(orders: list[dict]) -> None:
    refunds = [(order, refund) for order in orders for refund in order["refunds"]]
    assert refunds
    for order, refund in refunds:
        paid = [
            t for t in refund["transactions"] if t["kind"] == "refund" and t["status"] == "success"
        ]
        assert len(paid) == 1 and paid[0]["currency"] == order["currency"]
        items = sum(cents(item["subtotal"]) for item in refund["refund_line_items"])
        items_tax = sum(cents(item["total_tax"]) for item in refund["refund_line_items"])
        adjusted = sum(cents(a["amount"]) for a in refund["order_adjustments"])
        adjusted_tax = sum(cents(a["tax_amount"]) for a in refund["order_adjustments"])
        expected = items - adjusted
        if not order["taxes_included"]:
            expected += items_tax - adjusted_tax
        assert cents(paid[0]["amount"]) == expected, order["id"]
        assert cents(paid[0]["amount"]) <= cents(order["total_price"])


def test_the_dataset_holds_every_shape_real_shops_send(orders: list[dict]) -> None:
    live = [order for order in orders if not order["test"]]
    refunds = [refund for order in live for refund in order["refunds"]]
    adjustments = {a["kind"] for refund in refunds for a in refund["order_adjustments"]}
    statuses = {t["status"] for refund in refunds for t in refund["transactions"]}
    kinds = {
        application["type"] for order in live for application in order["discount_applications"]
    }
    targets = {a["target_type"] for order in live for a in order["discount_applications"]}
    assert {order["taxes_included"] for order in live} == {True, False}
    assert {order["presentment_currency"] for order in live} == {"EUR", "CHF", "USD"}
    assert any(cents(order["total_tip_received"]) > 0 for order in live)
    assert any(shop(order["original_total_duties_set"]) > 0 for order in live)
    assert any(order["original_total_duties_set"] is None for order in live)
    assert any(shop(order["total_shipping_price_set"]) > 0 for order in live)
    assert kinds == {"automatic", "discount_code"} and targets == {"line_item", "shipping_line"}
    assert {"shipping_refund", "refund_discrepancy"} <= adjustments
    assert statuses == {"success", "failure"}
    assert any(refund["refund_line_items"] for refund in refunds)
    assert any(not refund["refund_line_items"] for refund in refunds)
    partial = [o for o in live if o["financial_status"] == "partially_refunded"]
    assert partial and any(o["financial_status"] == "refunded" for o in live)


def test_truth_orders_hold_the_served_amounts(dataset: Path, orders: list[dict]) -> None:
    served = pl.DataFrame(
        [
            {
                "order_id": str(order["id"]),
                "subtotal_price": cents(order["subtotal_price"]),
                "total_tax": cents(order["total_tax"]),
                "is_taxes_included": order["taxes_included"],
                "total_tip_received": cents(order["total_tip_received"]),
                "total_duties": shop(order["original_total_duties_set"]),
                "shipping_price": sum(cents(s["price"]) for s in order["shipping_lines"])
                - allocations(order["shipping_lines"]),
            }
            for order in orders
        ]
    )
    money = ["subtotal_price", "total_tax", "total_tip_received", "total_duties", "shipping_price"]
    expected = truth(dataset, "orders").select(
        "order_id",
        *[(pl.col(name) * 100).round(0).cast(pl.Int64) for name in money],
        "is_taxes_included",
    )
    assert expected.sort("order_id").equals(served.select(expected.columns).sort("order_id"))
