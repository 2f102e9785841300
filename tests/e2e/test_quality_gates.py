"""Quality gates end to end: a corrupted input blocks the publish, the last good warehouse
stays live byte for byte, and the run report says which check failed, on how many rows, with a
sample; a warning publishes and is reported. One night is started by the nightly schedule's
own definition (as the daemon would) and writes its report itself; the backfill is the
README's command, as printed.

Each scenario corrupts one input through the real path (a new record version served by the
sandbox, a file drop, or the previous run's row counts), runs the night with the CLI, and
checks the outcome. Scenarios repair what they broke (a newer, correct version), except the
last one.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from devkit.vendor_dataset import dataset_end
from pipelines.assets.common import FIRST_DAY_TAG, LAST_DAY_TAG
from pipelines.definitions import build_definitions
from pipelines.run_report import REPORT_TAG
from pipelines.settings import temporary_environment
from pipelines.warehouse.build import BuildLock
from tests.e2e.conftest import (
    CORRUPT_AT,
    Outcome,
    assert_blocked,
    latest_version,
    pipeline,
    serve_version,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def nightly(tmp_path_factory):
    with pipeline(tmp_path_factory.mktemp("gates")) as run:
        assert run.demo_exit_code == 0
        yield run, None


@pytest.fixture(scope="module")
def published_digest(nightly):
    run, _ = nightly
    run.sandbox.set_clock(max(dataset_end(run.dataset), CORRUPT_AT + timedelta(days=1)))
    return run.digest()


def test_a_future_timestamp_blocks_the_publish(nightly, published_digest):
    run, _ = nightly
    ticket = latest_version(run, "zendesk", "tickets", status="closed")
    corrupt = {**ticket, "created_at": "2031-01-01T00:00:00Z", "updated_at": "2026-09-30T18:00:00Z"}
    serve_version(run, "zendesk", "tickets", corrupt, 0)
    failure = assert_blocked(run, run.run(), "zendesk/tickets", "created_at_in_range")
    assert failure["metadata"]["sample"][0]["id"] == str(ticket["id"])
    assert run.digest() == published_digest
    serve_version(run, "zendesk", "tickets", {**ticket, "updated_at": "2026-09-30T18:01:00Z"}, 1)


def test_a_scheduled_night_writes_its_report_and_a_null_id_blocks_the_publish(
    nightly, published_digest
):
    """The night the schedule starts at 02:00 on 2026-10-01: evaluated through the schedule's
    own definition, its run request launched (in this process), no CLI involved."""
    run, _ = nightly
    ticket = latest_version(run, "zendesk", "tickets", status="closed")
    corrupt = {**ticket, "requester_id": None, "updated_at": "2026-09-30T18:10:00Z"}
    serve_version(run, "zendesk", "tickets", corrupt, 10)

    defs = build_definitions(run.settings)
    instance = dg.DagsterInstance.get()
    schedule = defs.resolve_schedule_def("nightly_schedule")
    tick = schedule.evaluate_tick(
        dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=datetime(2026, 10, 1, 2, 0, tzinfo=UTC),
            repository_def=defs.get_repository_def(),
        )
    )
    [request] = tick.run_requests
    assert (request.tags[FIRST_DAY_TAG], request.tags[LAST_DAY_TAG]) == ("2026-09-30", "2026-09-30")
    result = defs.resolve_job_def("nightly").execute_in_process(
        instance=instance,
        tags=request.tags,
        raise_on_error=False,
    )
    BuildLock(run.settings.build_dir / ".lock", result.run_id).release()  # as its process would

    linked = Path(instance.get_run_by_id(result.run_id).tags[REPORT_TAG])
    assert linked.exists() and linked.with_suffix(".json").exists()
    assert (run.settings.report_dir / "latest.json").read_text() == linked.with_suffix(
        ".json"
    ).read_text()
    outcome = Outcome(result.success, linked.with_suffix(".json"))
    failure = assert_blocked(run, outcome, "zendesk/tickets", "requester_id_not_null")
    why = outcome.report["failure"]
    assert why["step"] == "quality_landing_zendesk" and why["kind"] == "checks"
    assert "requester_id_not_null" in why["cause"] and "failed on 1 of" in why["cause"]
    assert "## Why the run failed" in linked.read_text()
    assert failure["metadata"]["failed_rows"] == 1
    assert run.digest() == published_digest
    serve_version(run, "zendesk", "tickets", {**ticket, "updated_at": "2026-09-30T18:11:00Z"}, 11)


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
        assert_blocked(run, run.run(), "matomo/visits", "row_count_not_collapsed")
        assert run.digest() == published_digest
    finally:
        state.write_text(saved)


def test_a_night_quarantining_too_much_does_not_publish_and_says_why(nightly, published_digest):
    """The quarantine gate: one order of tonight's few breaks its contract (a creation time
    that is no timestamp), which is more than JOURNEY_QUARANTINE_MAX_SHARE (1 %)."""
    run, _ = nightly
    order = latest_version(run, "shopify", "orders", financial_status="paid", test=False)
    broken = {**order, "created_at": "Sept 30th", "updated_at": "2026-09-30T18:15:00Z"}
    serve_version(run, "shopify", "orders", broken, 15)
    outcome = run.run()
    failure = assert_blocked(run, outcome, "shopify/orders", "quarantine_gate")
    metadata = failure["metadata"]
    assert metadata["quarantined"] == 1
    assert metadata["top_reasons"] == [
        {"reason": "wrong type: created_at should be iso", "records": 1}
    ]
    [sample] = metadata["sample"]
    assert sample["reason"] == 'wrong type: created_at should be iso, got "Aaaa 99aa"'
    assert str(order["email"]) not in json.dumps(metadata)  # the sample is masked
    reason = outcome.report["publish"]["reason"]
    received = metadata["landed"] + 1
    assert reason.startswith(
        f"quarantine_gate: shopify/orders quarantined 1 of {received} records ("
    )
    assert "1× wrong type: created_at should be iso" in reason
    markdown = outcome.report_path.with_suffix(".md").read_text()
    assert f"- why not published: {reason}" in markdown.splitlines()
    assert run.digest() == published_digest
    serve_version(run, "shopify", "orders", {**order, "updated_at": "2026-09-30T18:16:00Z"}, 16)


REAL_CUSTOMER_ID = 1111111  # issue 15, cause 7: repeated digits, and a real Shopify customer


def serve_customer_1111111(run) -> dict:
    """A shop customer whose id is 1111111, and an order of theirs, served by the sandbox."""
    customer = latest_version(run, "shopify", "customers")
    email = "max.mustermann@shop-kunde.de"
    stamp = "2026-09-30T20:25:00+02:00"
    serve_version(
        run,
        "shopify",
        "customers",
        {**customer, "id": REAL_CUSTOMER_ID, "email": email, "phone": None, "updated_at": stamp},
        25,
    )
    order = latest_version(run, "shopify", "orders", financial_status="paid", test=False)
    mine = {
        **order,
        "id": 9_911_111_111,
        "name": "#911111",
        "email": email,
        "contact_email": email,
        "checkout_token": None,
        "cart_token": None,
        "customer": {**(order.get("customer") or {}), "id": REAL_CUSTOMER_ID, "email": email},
        "updated_at": stamp,
    }
    serve_version(run, "shopify", "orders", mine, 26)
    return mine


def test_a_warning_publishes_and_is_reported(nightly, published_digest):
    run, _ = nightly
    customer = latest_version(run, "shopify", "customers")
    bad = {**customer, "email": "not-an-email", "updated_at": "2026-09-30T20:20:00+02:00"}
    serve_version(run, "shopify", "customers", bad, 20)
    order_1111111 = serve_customer_1111111(run)
    # and Zendesk is not configured tonight: its streams are skipped, so their suites (the
    # row-count bounds above all, which would see nothing landed) do not judge them
    unconfigured = dict.fromkeys(("ZENDESK_BASE_URL", "ZENDESK_EMAIL", "ZENDESK_API_TOKEN"), "")
    with temporary_environment(unconfigured):  # the README's backfill, as printed
        outcome = run.readme_run(".venv/bin/python -m pipelines run --start")
    report = outcome.report
    assert outcome.success, outcome.report_path.with_suffix(".md").read_text()
    assert report["published"] is True
    assert report["partitions"] == {"start": "2026-09-29", "end": "2026-09-30"}
    warnings = {(w["asset"], w["check"]) for w in report["checks"]["warnings"]}
    assert ("shopify/customers", "email_valid") in warnings
    zendesk = {item["stream"]: item for item in report["landing"] if item["source"] == "zendesk"}
    assert zendesk and {item["status"] for item in zendesk.values()} == {"skipped"}
    assert not any(w["asset"].startswith("zendesk/") for w in report["checks"]["warnings"])
    assert run.digest() != published_digest  # this night did publish
    # customer 1111111 is a person: their order, their e-mail and their id are one person
    persons = run.query(
        f"""
        select identifier_kind, person_id from identity.identity_map
        where (identifier_kind = 'shop_customer_id' and identifier_value = '{REAL_CUSTOMER_ID}')
           or (identifier_kind = 'email' and identifier_value = '{order_1111111["email"]}')
        """
    )
    assert sorted(persons["identifier_kind"]) == ["email", "shop_customer_id"]
    assert persons["person_id"].n_unique() == 1
    ordered = run.query(
        f"select person_id from marts.fct_orders where order_id = '{order_1111111['id']}'"
    )
    assert ordered["person_id"].to_list() == [persons["person_id"][0]]
    # a two-day range is one run that planned and recorded each asset once, not once per day
    with dg.DagsterInstance.get() as instance:
        events = Counter(
            (entry.dagster_event.event_type_value, entry.dagster_event.asset_key)
            for entry in instance.all_logs(report["run_id"])
            if entry.dagster_event
            and entry.dagster_event.event_type_value
            in ("ASSET_MATERIALIZATION_PLANNED", "ASSET_MATERIALIZATION")
        )
    assert max(events.values()) == 1, events.most_common(3)
