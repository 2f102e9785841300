"""The README's promise, end to end: a nightly run over HTTP builds a warehouse that agrees
with the generator's ground truth, publishes it atomically, and a re-run changes nothing."""

from __future__ import annotations

import json

import polars as pl
import pytest

from pipelines.identity.evaluate import pairwise_scores
from pipelines.identity.normalise import normalise_identifiers
from pipelines.identity.rules import load_rules
from tests.e2e.conftest import pipeline

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e_nightly")]

VENDOR_STREAMS = {
    ("matomo", "visits"),
    ("mailchimp", "members"),
    ("mailchimp", "campaigns"),
    ("mailchimp", "sent_to"),
    ("mailchimp", "email_activity"),
    ("mailchimp", "unsubscribes"),
    ("shopify", "orders"),
    ("shopify", "customers"),
    ("shopify", "checkouts"),
    ("zendesk", "tickets"),
    ("zendesk", "ticket_metrics"),
    ("zendesk", "users"),
    ("zendesk", "satisfaction_ratings"),
}


@pytest.fixture(scope="module")
def nightly(tmp_path_factory):
    with pipeline(tmp_path_factory.mktemp("nightly")) as run:
        outcome = run.run(full_refresh=True)
        yield run, outcome


def test_the_first_night_publishes_with_every_check_passing(nightly):
    run, outcome = nightly
    report = json.loads(outcome.report_path.read_text())
    assert outcome.success, outcome.report_path.with_suffix(".md").read_text()
    assert report["published"] is True
    assert report["checks"]["failed"] == 0 and report["checks"]["passed"] > 100
    landed = {(item["source"], item["stream"]): item for item in report["landing"]}
    for stream in VENDOR_STREAMS:  # every vendor stream came over HTTP from the sandbox
        assert landed[stream]["status"] == "landed" and landed[stream]["records"] > 0, stream
    assert report["landing_totals"]["quarantined"] == 0
    served = {entry["source"] for entry in run.sandbox.request_log if entry["status"] == 200}
    assert served == {"matomo", "mailchimp", "shopify", "zendesk"}  # real HTTP, every vendor
    # the published warehouse, its exports and both documentation sites exist
    settings = run.settings
    assert settings.warehouse_path.exists() and not settings.build_warehouse_path.exists()
    exported = pl.read_parquet(settings.export_dir / "current" / "fct_orders.parquet")
    assert exported.height == run.query("select count(*) from marts.fct_orders").item()
    assert (settings.docs_dir / "dbt" / "index.html").stat().st_size > 10_000
    assert (settings.docs_dir / "gx" / "index.html").exists()


def test_touchpoints_equal_the_true_touchpoints(nightly):
    run, _ = nightly
    truth = f"""
        select source, stream, record_id, touchpoint_type, timezone('UTC', occurred_at) as occurred_at
        from {run.truth("touchpoints")}
    """
    mine = (
        "select source, stream, record_id, touchpoint_type, occurred_at from marts.fct_touchpoints"
    )
    assert run.query(f"{truth} except all {mine}").height == 0
    assert run.query(f"{mine} except all {truth}").height == 0
    assert run.query("select count(*) from marts.fct_touchpoints").item() > 3000


def test_identities_meet_the_precision_and_recall_targets(nightly):
    run, _ = nightly
    rules = load_rules()
    scores = pairwise_scores(
        pl.read_parquet(run.dataset / "truth" / "identities.parquet"),
        run.query("select * from identity.identity_map"),
        lambda frame: normalise_identifiers(frame, rules),
    )
    assert scores["precision"] >= 0.995, scores
    assert scores["recall"] >= 0.98, scores


def test_revenue_and_buyers_reconcile_with_the_true_orders(nightly):
    run, _ = nightly
    true_orders = pl.read_parquet(run.dataset / "truth" / "orders.parquet").filter(
        ~pl.col("is_test")
    )
    mine = run.query("select order_id, total_price, is_cancelled from marts.fct_orders")
    assert mine.height == true_orders.height
    assert round(mine["total_price"].cast(pl.Float64).sum(), 2) == round(
        true_orders["total_price"].cast(pl.Float64).sum(), 2
    )
    # every buyer enters Conversion at their first (non-cancelled) order
    missing = run.query(
        """
        select o.person_id
        from (select person_id, min(created_at) as first_order_at from marts.fct_orders
              where not is_cancelled and person_id is not null group by person_id) as o
        left join marts.fct_journey_phases as p
          on p.person_id = o.person_id and p.phase = 'conversion' and p.entered_at = o.first_order_at
        where p.person_id is null
        """
    )
    assert missing.height == 0


def test_rerunning_the_same_night_leaves_the_warehouse_identical(nightly):
    run, _ = nightly
    before = run.contents()
    outcome = run.run()  # same date, incremental this time
    assert outcome.success, outcome.report_path.with_suffix(".md").read_text()
    after = run.contents()
    assert before.keys() == after.keys()
    for name, frame in before.items():
        assert frame.equals(after[name]), name
