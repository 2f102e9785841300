"""The README's promise, end to end: `make demo` says what it does as it goes and ends with
where everything is; a nightly run over HTTP builds a warehouse that agrees with the
generator's ground truth, publishes it atomically, and a re-run changes nothing; the README's
commands work as printed."""

from __future__ import annotations

import itertools
import re
import shlex
import shutil

import polars as pl
import pytest

from devkit.identity.evaluate import pairwise_scores
from pipelines.cli import main as cli
from pipelines.console import format_seconds
from pipelines.identity.__main__ import main as explain
from pipelines.identity.normalise import normalise_identifiers
from pipelines.identity.rules import load_rules
from tests.e2e.conftest import Outcome, assert_blocked, latest_version, pipeline, serve_version

pytestmark = pytest.mark.e2e

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
        yield run, Outcome(run.demo_exit_code == 0, run.settings.report_dir / "latest.json")


@pytest.fixture(scope="module")
def demo_digest(nightly):
    """The bytes the demo published, before any later night replaced them."""
    run, _ = nightly
    return run.digest()


def test_the_demo_command_publishes_with_every_check_passing(nightly):
    run, outcome = nightly
    report = outcome.report
    assert outcome.success, outcome.report_path.with_suffix(".md").read_text()
    assert report["full_refresh"] is True
    assert report["published"] is True
    assert report["checks"]["failed"] == 0 and report["checks"]["passed"] > 100
    landed = {(item["source"], item["stream"]): item for item in report["landing"]}
    for stream in VENDOR_STREAMS:  # every vendor stream came over HTTP from the sandbox
        assert landed[stream]["status"] == "landed" and landed[stream]["records"] > 0, stream
    assert report["landing_totals"]["quarantined"] == 0
    # the published warehouse, its exports and both documentation sites exist
    settings = run.settings
    assert settings.warehouse_path.exists() and not settings.build_warehouse_path.exists()
    exported = pl.read_parquet(settings.export_dir / "current" / "fct_orders.parquet")
    assert exported.height == run.query("select count(*) from marts.fct_orders").item()
    assert (settings.docs_dir / "dbt" / "index.html").stat().st_size > 10_000
    assert (settings.docs_dir / "gx" / "index.html").exists()


def test_make_demo_is_never_silent_for_10_s_and_ends_with_where_things_are(nightly):
    run, outcome = nightly
    output = run.demo_output
    times = [0.0] + [seconds for seconds, _ in output]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    longest = max(range(len(gaps)), key=gaps.__getitem__)
    assert gaps[longest] < 10.0, (gaps[longest], output[max(0, longest - 3) : longest + 1])
    text = [line for _, line in output]
    # progress of every kind of step, as it happened
    assert any(
        re.search(r"extract_shopify +shopify/orders: landed \d[\d,]* records", t) for t in text
    )
    assert any(
        re.search(r"dbt_after_identity +\[ *\d+/\d+\] model marts\.dim_persons OK", t) for t in text
    )
    assert any(
        re.search(r"identity_stitching +identity: erasure and person ids: \d", t) for t in text
    )
    assert any(
        re.search(r"quality_warehouse +checks \d+ of \d+ \(suite \d+ of \d+\)", t) for t in text
    )
    assert any(re.search(r"warehouse__published +publish: .* is live", t) for t in text)
    # one clock: each step's duration and the total, as the run report has them
    report = outcome.report
    for stage in report["stages"]:
        done = f"{stage['step']:<24} done in {format_seconds(stage['seconds'])}"
        assert any(done in line for line in text), done
    assert (
        f"The nightly job published the warehouse in {format_seconds(report['seconds'])} "
        f"(run {report['run_id']})." in text
    )
    # where the warehouse, the report and the docs are, and what to try next
    tail = "\n".join(text[text.index("Where things are:") :])
    settings = run.settings
    [report_md] = settings.report_dir.glob(f"*/{report['run_id']}.md")
    for path in (
        settings.warehouse_path,
        report_md,
        settings.docs_dir / "dbt" / "index.html",
        settings.docs_dir / "gx" / "index.html",
    ):
        assert str(path) in tail and path.exists(), path
    assert "Try next:" in tail and "-m pipelines query" in tail and "make dev" in tail
    explain_line = next(line for line in text if "-m pipelines.identity explain" in line)
    pair = shlex.split(explain_line)[-2:]
    assert explain(["explain", "--warehouse", str(settings.warehouse_path), *pair]) == 0


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


def test_rerunning_the_same_night_leaves_the_warehouse_identical(nightly, demo_digest):
    run, _ = nightly
    before = run.contents()
    outcome = run.readme_run(".venv/bin/python -m pipelines run --date")  # incremental this time
    assert outcome.report["partitions"] == {"start": "2026-09-30", "end": "2026-09-30"}
    assert outcome.success, outcome.report_path.with_suffix(".md").read_text()
    after = run.contents()
    served = {entry["source"] for entry in run.sandbox.request_log if entry["status"] == 200}
    assert served == {"matomo", "mailchimp", "shopify", "zendesk"}  # real HTTP, every vendor
    assert before.keys() == after.keys()
    for name, frame in before.items():
        assert frame.equals(after[name]), name


def test_rollback_swaps_the_previous_warehouse_back_and_forth(nightly, demo_digest):
    run, _ = nightly
    newest = run.digest()  # the re-run's file: same contents, new bytes
    assert newest != demo_digest
    assert cli(["rollback"]) == 0
    assert run.digest() == demo_digest
    assert cli(["rollback"]) == 0
    assert run.digest() == newest


def assert_rows_shown(done, rows: pl.DataFrame) -> None:
    """Each (label, count) row appears in DuckDB's box table printed by the command."""
    assert done.returncode == 0, done.stderr
    for label, count in rows.iter_rows():
        row = rf"│ {re.escape(label or 'NULL')} +│ +{count} +│"
        assert re.search(row, done.stdout), (label, count, done.stdout)


def test_the_query_summary_and_explain_commands(nightly, capsys):
    run, _ = nightly
    assert cli(["query", "select count(*) as persons from marts.dim_persons"]) == 0
    persons = run.query("select count(*) from marts.dim_persons").item()
    assert f"{persons}" in capsys.readouterr().out
    # the README's querying commands, as printed
    query = run.readme(".venv/bin/python -m pipelines query")
    assert_rows_shown(
        query, run.query("select phase, count(*) from marts.fct_journey_phases group by 1")
    )
    summary = run.readme(".venv/bin/python -m pipelines summary")
    assert summary.returncode == 0 and f"Persons: {persons:,}" in summary.stdout
    assert "Phase funnel" in summary.stdout
    python = run.readme("import duckdb")
    assert_rows_shown(
        python, run.query("select acquisition_channel, count(*) from marts.dim_persons group by 1")
    )
    if shutil.which("duckdb"):  # the DuckDB CLI is optional ("if installed")
        assert run.readme("duckdb -readonly").returncode == 0
    # two identifiers of one person, explained hop by hop
    pair = run.query(
        """
        select a.identifier_kind || ':' || a.identifier_value as left_identifier,
               b.identifier_kind || ':' || b.identifier_value as right_identifier
        from identity.identity_map as a
        join identity.identity_map as b on a.person_id = b.person_id
        where a.identifier_kind = 'email' and b.identifier_kind = 'web_visitor_id'
        order by 1, 2 limit 1
        """
    ).row(0)
    assert explain(["explain", "--warehouse", str(run.settings.warehouse_path), *pair]) == 0
    assert "web_visitor_id" in capsys.readouterr().out


# Mart-level corruption (after the rollback test: these nights never publish).


def test_revenue_not_reconciling_blocks_the_publish(nightly):
    run, _ = nightly
    before = run.digest()
    order = latest_version(run, "shopify", "orders", financial_status="paid", test=False)
    wrong = {**order, "total_price": "99999.00", "updated_at": "2026-09-30T20:40:00+02:00"}
    serve_version(run, "shopify", "orders", wrong, 40)
    # the README's nightly command (yesterday: its window reaches back to the stored cursor,
    # 2026-10-01, minus the lookback, so it pulls the version served at 2026-09-30 20:40)
    outcome = run.readme_run(".venv/bin/python -m pipelines run ")
    failure = assert_blocked(run, outcome, "fct_orders", "revenue_reconciles_with_line_items")
    assert failure["metadata"]["sample"][0]["order_id"] == str(order["id"])
    assert run.digest() == before
    serve_version(
        run, "shopify", "orders", {**order, "updated_at": "2026-09-30T20:41:00+02:00"}, 41
    )


def test_duplicated_order_ids_block_the_publish(nightly):
    run, _ = nightly
    before = run.digest()
    order = latest_version(run, "shopify", "orders", financial_status="paid", test=False)
    # the same order id again, from a file drop (a botched re-import from another shop system)
    drop = run.dataset / "drop" / "orders"
    drop.mkdir(exist_ok=True)
    (drop / "reimport.csv").write_text(
        "order_id,customer_id,email,created_at,updated_at,cancelled_at,financial_status,is_test,"
        "currency,total_price,total_discounts,refunded_amount,discount_codes,landing_url,referring_url\n"
        f"{order['id']},,reimport@shop.example,2026-09-30T10:00:00Z,2026-09-30T10:00:00Z,,paid,false,"
        "EUR,10.00,0.00,0.00,,,\n"
    )
    outcome = run.readme_run(".venv/bin/python -m pipelines run --full-refresh")
    assert outcome.report["full_refresh"] is True
    failure = assert_blocked(run, outcome, "fct_orders", "unique_fct_orders_order_id")
    assert failure["metadata"]["sample"][0]["unique_field"] == str(order["id"])
    assert run.digest() == before
