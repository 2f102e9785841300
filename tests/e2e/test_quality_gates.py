"""Quality gates end to end: a corrupted input blocks the publish, the last good warehouse
stays live byte for byte, and the run report says which check failed, on how many rows, with a
sample; a warning publishes and is reported.

Each scenario corrupts one input through the real path (a new record version served by the
sandbox, a file drop, or the previous run's row counts), runs the night with the CLI, and
checks the outcome. Scenarios repair what they broke (a newer, correct version), except the
last one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from pipelines.extract.vendor_dataset import dataset_end
from tests.e2e.conftest import pipeline

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def nightly(tmp_path_factory):
    with pipeline(tmp_path_factory.mktemp("gates")) as run:
        assert run.demo_exit_code == 0
        yield run, None


CORRUPT_AT = datetime(2026, 9, 30, 18, 0, tzinfo=UTC)


def _latest(run, source: str, stream: str, **match) -> dict:
    """The latest version of the first record of a vendor stream matching `match`."""
    frame = pl.read_parquet(run.dataset / "vendor" / source / f"{stream}.parquet")
    records = [json.loads(text) for text in frame.sort("updated_at")["record"]]
    latest = {str(r["id"]): r for r in records}
    for record in latest.values():
        if all(record.get(key) == value for key, value in match.items()):
            return record
    raise AssertionError(f"no {source}/{stream} record matching {match}")


def _serve(run, source: str, stream: str, record: dict, minutes: int) -> None:
    run.sandbox.upsert(source, stream, record, updated_at=CORRUPT_AT + timedelta(minutes=minutes))


def _blocked(run, outcome, asset: str, check: str) -> dict:
    report = outcome.report
    assert not outcome.success and report["published"] is False
    failures = {(f["asset"], f["check"]): f for f in report["checks"]["failures"]}
    assert (asset, check) in failures, sorted(failures)
    failure = failures[(asset, check)]
    assert failure["blocking"], failure
    metadata = failure["metadata"]
    if "failed_rows" in metadata:  # a row-level check names its rows; a table-level one its bound
        assert metadata["failed_rows"] >= 1 and metadata["sample"], failure
    else:
        assert metadata["observed"] is not None and metadata["bound"], failure
    assert check in report["publish"]["reason"]
    return failure


@pytest.fixture(scope="module")
def published_digest(nightly):
    run, _ = nightly
    run.sandbox.set_clock(max(dataset_end(run.dataset), CORRUPT_AT + timedelta(days=1)))
    return run.digest()


def test_a_future_timestamp_blocks_the_publish(nightly, published_digest):
    run, _ = nightly
    ticket = _latest(run, "zendesk", "tickets", status="closed")
    corrupt = {**ticket, "created_at": "2031-01-01T00:00:00Z", "updated_at": "2026-09-30T18:00:00Z"}
    _serve(run, "zendesk", "tickets", corrupt, 0)
    failure = _blocked(run, run.run(), "zendesk/tickets", "created_at_in_range")
    assert failure["metadata"]["sample"][0]["id"] == str(ticket["id"])
    assert run.digest() == published_digest
    _serve(run, "zendesk", "tickets", {**ticket, "updated_at": "2026-09-30T18:01:00Z"}, 1)


def test_a_null_id_blocks_the_publish(nightly, published_digest):
    run, _ = nightly
    ticket = _latest(run, "zendesk", "tickets", status="closed")
    corrupt = {**ticket, "requester_id": None, "updated_at": "2026-09-30T18:10:00Z"}
    _serve(run, "zendesk", "tickets", corrupt, 10)
    _blocked(run, run.run(), "zendesk/tickets", "requester_id_not_null")
    assert run.digest() == published_digest
    _serve(run, "zendesk", "tickets", {**ticket, "updated_at": "2026-09-30T18:11:00Z"}, 11)


def test_a_broken_row_count_bound_blocks_the_publish(nightly, published_digest):
    run, _ = nightly
    state = run.settings.data_dir / "state" / "quality_row_counts.json"
    saved = state.read_text()
    counts = json.loads(saved)
    # as if last night had landed a hundred thousand visits a day: tonight's few look like an outage
    counts["landing.matomo.visits"] = {
        **counts.get("landing.matomo.visits", {}),
        "rows": 400_000,
        "days": 4,
        "full_refresh": False,
        "run_id": "earlier",
    }
    state.write_text(json.dumps(counts))
    try:
        _blocked(run, run.run(), "matomo/visits", "row_count_not_collapsed")
        assert run.digest() == published_digest
    finally:
        state.write_text(saved)


def test_a_warning_publishes_and_is_reported(nightly, published_digest):
    run, _ = nightly
    customer = _latest(run, "shopify", "customers")
    bad = {**customer, "email": "not-an-email", "updated_at": "2026-09-30T20:20:00+02:00"}
    _serve(run, "shopify", "customers", bad, 20)
    outcome = run.run("--start", "2026-09-29", "--end", "2026-09-30")  # a two-day backfill
    report = outcome.report
    assert outcome.success, outcome.report_path.with_suffix(".md").read_text()
    assert report["published"] is True
    assert report["partitions"] == {"start": "2026-09-29", "end": "2026-09-30"}
    warnings = {(w["asset"], w["check"]) for w in report["checks"]["warnings"]}
    assert ("shopify/customers", "email_valid") in warnings
    assert run.digest() != published_digest  # this night did publish


def test_revenue_not_reconciling_blocks_the_publish(nightly):
    run, _ = nightly
    before = run.digest()
    order = _latest(run, "shopify", "orders", financial_status="paid", test=False)
    wrong = {**order, "total_price": "99999.00", "updated_at": "2026-09-30T20:40:00+02:00"}
    _serve(run, "shopify", "orders", wrong, 40)
    failure = _blocked(run, run.run(), "fct_orders", "revenue_reconciles_with_line_items")
    assert failure["metadata"]["sample"][0]["order_id"] == str(order["id"])
    assert run.digest() == before
    _serve(run, "shopify", "orders", {**order, "updated_at": "2026-09-30T20:41:00+02:00"}, 41)


def test_duplicated_order_ids_block_the_publish(nightly):
    run, _ = nightly
    before = run.digest()
    order = _latest(run, "shopify", "orders", financial_status="paid", test=False)
    # the same order id again, from a file drop (a botched re-import from another shop system)
    drop = run.dataset / "drop" / "orders"
    drop.mkdir(exist_ok=True)
    (drop / "reimport.csv").write_text(
        "order_id,customer_id,email,created_at,updated_at,cancelled_at,financial_status,is_test,"
        "currency,total_price,total_discounts,refunded_amount,discount_codes,landing_url,referring_url\n"
        f"{order['id']},,reimport@shop.example,2026-09-30T10:00:00Z,2026-09-30T10:00:00Z,,paid,false,"
        "EUR,10.00,0.00,0.00,,,\n"
    )
    failure = _blocked(run, run.run(), "fct_orders", "unique_fct_orders_order_id")
    assert failure["metadata"]["sample"][0]["unique_field"] == str(order["id"])
    assert run.digest() == before
