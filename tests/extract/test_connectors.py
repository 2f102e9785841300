"""Every connector against the sandbox, with faults; outcomes asserted on landed data."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from devkit.sandbox import Fault
from devkit.vendor_dataset import land_vendor_dataset
from pipelines.extract.cursors import read_cursor
from pipelines.extract.errors import (
    AuthenticationError,
    MalformedResponseError,
    RetriesExhaustedError,
)
from pipelines.extract.landing import read_landing
from pipelines.extract.runner import ExtractionWindow
from pipelines.extract.streams import streams_of
from tests.extract.conftest import (
    PAGED_STREAMS,
    assert_deduplicated_equal,
    comparable,
    landed,
    make_settings,
    run,
)

VENDORS = list(PAGED_STREAMS)


def assert_source_matches(settings, source, expected) -> None:
    for stream in streams_of(source):
        assert_deduplicated_equal(landed(settings, source, stream), expected(source, stream))


def test_full_extraction_lands_exactly_what_the_dataset_lander_lands(
    sandbox, dataset: Path, tmp_path: Path
):
    server = sandbox()
    settings = make_settings(server, tmp_path / "data")
    reference = tmp_path / "reference"
    land_vendor_dataset(dataset, reference / "landing", reference / "quarantine", "ref")
    for source in VENDORS:
        results = run(settings, source)
        assert {result.status for result in results} == {"landed"}
        for stream in streams_of(source):
            assert_frame_equal(
                comparable(landed(settings, source, stream)),
                comparable(read_landing(reference / "landing", source, stream)),
            )
    # Matomo's token travels in the POST body, never in a URL
    matomo = [entry for entry in server.request_log if entry["source"] == "matomo"]
    assert matomo and all("token_auth" not in entry["query"] for entry in matomo)
    assert all(entry["method"] == "POST" for entry in matomo)
    orders = [entry for entry in server.request_log if entry["stream"] == "orders"]
    assert orders[0]["query"]["status"] == "any"
    assert all(set(entry["query"]) == {"limit", "page_info"} for entry in orders[1:])


TRANSIENT = {
    # fault → (statuses the sandbox answers with, settings for the run)
    "rate_limit": (Fault("rate_limit", "", retry_after=0.3), [429], {}),
    "server_error": (Fault("server_error", "", times=2), [500, 500], {}),
    "timeout": (
        Fault("timeout", "", delay_seconds=1.0),
        [200],
        {"JOURNEY_HTTP_TIMEOUT_SECONDS": "0.3"},
    ),
    "malformed_json": (Fault("malformed_json", ""), [200], {}),
}


@pytest.mark.parametrize("kind", list(TRANSIENT))
@pytest.mark.parametrize("source", VENDORS)
def test_transient_faults_are_retried(kind, source, sandbox, expected, tmp_path: Path):
    template, statuses, extra = TRANSIENT[kind]
    fault = replace(template, source=source, stream=PAGED_STREAMS[source], after=1)
    server = sandbox([fault])
    settings = make_settings(server, tmp_path / "data", **extra)
    started = time.monotonic()
    run(settings, source)
    faulted = [entry["status"] for entry in server.request_log if entry["fault"] == kind]
    assert faulted == statuses
    if kind == "rate_limit":
        assert time.monotonic() - started >= 0.3  # waited for Retry-After
    assert_source_matches(settings, source, expected)


def test_malformed_pages_past_the_retry_budget_fail_clearly(sandbox, tmp_path: Path):
    server = sandbox([Fault("malformed_json", "shopify", "orders", after=1, times=None)])
    settings = make_settings(server, tmp_path / "data")
    with pytest.raises(MalformedResponseError) as caught:
        run(settings, "shopify")
    message = str(caught.value)
    assert "shopify/orders" in message and "/shopify/admin/api/2024-10/orders.json" in message
    assert "failed 4 times" in message and "malformed JSON" in message
    assert read_cursor(settings.state_dir, "shopify", "orders") is None


@pytest.mark.parametrize("source", VENDORS)
def test_duplicates_across_pages_are_landed_and_deduplicate_away(
    source, sandbox, expected, tmp_path: Path
):
    stream = PAGED_STREAMS[source]
    fault = Fault("duplicate_records", source, stream, after=1, duplicates=2)
    server = sandbox([fault])
    settings = make_settings(server, tmp_path / "data")
    results = {result.stream: result for result in run(settings, source)}
    assert results[stream].duplicates_in_batch >= 2
    raw = landed(settings, source, stream)
    assert raw.height >= expected(source, stream).height + 2
    assert_source_matches(settings, source, expected)


@pytest.mark.parametrize("source", ["mailchimp", "shopify", "zendesk"])
def test_empty_pages_do_not_end_pagination(source, sandbox, expected, tmp_path: Path):
    fault = Fault("empty_page", source, PAGED_STREAMS[source], after=1)
    server = sandbox([fault])
    settings = make_settings(server, tmp_path / "data")
    run(settings, source)
    assert any(entry["fault"] == "empty_page" for entry in server.request_log)
    assert_source_matches(settings, source, expected)


def test_matomo_stops_at_the_empty_page_after_an_exactly_full_one(
    sandbox, expected, tmp_path: Path
):
    server = sandbox()
    # 31 visits at 31 per page: a full page, then an empty one
    settings = make_settings(server, tmp_path / "data", JOURNEY_HTTP_PAGE_SIZE="31")
    (result,) = run(settings, "matomo")
    visits = [entry for entry in server.request_log if entry["stream"] == "visits"]
    assert [entry["records"] for entry in visits] == [31, 0]
    assert result.pages == 1 and result.records == 31
    assert_source_matches(settings, "matomo", expected)


def test_an_empty_window_lands_nothing_incremental_and_completes(sandbox, tmp_path: Path):
    server = sandbox()
    settings = make_settings(server, tmp_path / "data")
    window = ExtractionWindow(
        datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC), False
    )
    # Mailchimp's reports list and its sent-to / unsubscribed reports have no time filter
    snapshots = {"campaigns", "sent_to", "unsubscribes"}
    for source in VENDORS:
        results = run(settings, source, window=window)
        assert all(result.records == 0 for result in results if result.stream not in snapshots)
        assert all(result.cursor_after == "2027-01-02T00:00:00+00:00" for result in results)


SECRETS = ("MATOMO_TOKEN", "MAILCHIMP_API_KEY", "SHOPIFY_ACCESS_TOKEN", "ZENDESK_API_TOKEN")


@pytest.mark.parametrize("source", VENDORS)
@pytest.mark.parametrize("how", ["wrong_credentials", "injected"])
def test_auth_failure_fails_fast_without_leaking(
    source, how, sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    secret_name = next(name for name in SECRETS if name.startswith(source.upper()))
    if how == "injected":
        server = sandbox([Fault("auth_failure", source, times=None)])
        settings = make_settings(server, tmp_path / "data")
        secret = server.env()[secret_name]
    else:
        server = sandbox()
        secret = "wrong-secret-value-123"
        settings = make_settings(server, tmp_path / "data", **{secret_name: secret})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthenticationError) as caught:
        run(settings, source)
    message = str(caught.value)
    assert secret_name in message and "not retried" in message
    assert secret not in message and secret not in caplog.text
    assert sum(entry["source"] == source for entry in server.request_log) == 1
    assert read_cursor(settings.state_dir, source, streams_of(source)[0]) is None


@pytest.mark.parametrize("source", VENDORS)
def test_a_dead_connection_fails_then_a_rerun_lands_everything_once(
    source, sandbox, expected, tmp_path: Path
):
    stream = PAGED_STREAMS[source]
    server = sandbox([Fault("disconnect", source, stream, after=1, times=None)])
    settings = make_settings(server, tmp_path / "data")
    with pytest.raises(RetriesExhaustedError) as caught:
        run(settings, source, run_id="crashed")
    assert f"{source}/{stream}" in str(caught.value)
    assert "connection error" in str(caught.value)
    assert read_cursor(settings.state_dir, source, stream) is None
    server.set_faults([])
    run(settings, source, run_id="rerun")
    assert_source_matches(settings, source, expected)


def test_a_crash_in_the_progress_callback_leaves_the_cursor_and_a_rerun_heals(
    sandbox, expected, tmp_path: Path
):
    server = sandbox()
    settings = make_settings(server, tmp_path / "data")
    run(settings, "shopify", run_id="first")
    before = read_cursor(settings.state_dir, "shopify", "orders")

    def explode(event: dict) -> None:
        if event["event"] == "page" and event["stream"] == "orders" and event["pages"] == 2:
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError, match="worker killed"):
        run(settings, "shopify", run_id="crashed", progress=explode)
    assert read_cursor(settings.state_dir, "shopify", "orders") == before
    run(settings, "shopify", run_id="rerun")
    assert_source_matches(settings, "shopify", expected)


def test_rerunning_the_same_window_is_idempotent_after_dedup(sandbox, expected, tmp_path: Path):
    server = sandbox()
    settings = make_settings(server, tmp_path / "data")
    for run_id in ("first", "second"):
        for source in VENDORS:
            run(settings, source, run_id=run_id)
    for source in VENDORS:
        assert_source_matches(settings, source, expected)
        raw = landed(settings, source, PAGED_STREAMS[source])
        assert set(raw.get_column("_run_id")) == {"first", "second"}


def test_progress_events_count_pages_and_records(sandbox, tmp_path: Path):
    server = sandbox()
    settings = make_settings(server, tmp_path / "data")
    events: list[dict] = []
    results = run(settings, "shopify", progress=events.append)
    pages = [event for event in events if event["event"] == "page" and event["stream"] == "orders"]
    assert [event["pages"] for event in pages] == [1, 2, 3]
    assert [event["records"] for event in pages] == [7, 14, 20]
    done = [event for event in events if event["event"] == "done"]
    assert [event["stream"] for event in done] == ["orders", "customers", "checkouts"]
    orders = results[0]
    assert (orders.pages, orders.records, orders.quarantined) == (3, 20, 0)
    assert orders.records_per_second > 0 and orders.files


def test_shopify_slows_down_before_the_call_limit(sandbox, expected, tmp_path: Path):
    server = sandbox(call_limit=(5, 20.0))
    settings = make_settings(server, tmp_path / "data", JOURNEY_HTTP_PAGE_SIZE="2")
    run(settings, "shopify")
    shopify = [entry for entry in server.request_log if entry["source"] == "shopify"]
    assert len(shopify) > 10
    assert all(entry["status"] == 200 for entry in shopify)
    assert_source_matches(settings, "shopify", expected)


def test_unconfigured_sources_are_skipped(tmp_path: Path):
    settings = make_settings(None, tmp_path / "data")
    for source in [*VENDORS, "filedrop"]:
        results = run(settings, source)
        assert [result.status for result in results] == ["skipped"] * len(streams_of(source))
        assert all(result.skipped_reason for result in results)
    assert "MATOMO_TOKEN" in run(settings, "matomo")[0].skipped_reason
    assert "JOURNEY_DROP_DIR" in run(settings, "filedrop")[0].skipped_reason


def test_landed_frames_have_the_contract_columns(sandbox, tmp_path: Path):
    server = sandbox()
    settings = make_settings(server, tmp_path / "data")
    run(settings, "zendesk", run_id="r-9")
    frame = landed(settings, "zendesk", "ticket_metrics")
    assert frame.get_column("_source").unique().to_list() == ["zendesk"]
    assert frame.get_column("_run_id").unique().to_list() == ["r-9"]
    assert frame.get_column("_extracted_at").null_count() == 0
    files = sorted((settings.landing_dir / "zendesk" / "tickets").glob("**/*.parquet"))
    assert files[0].name == "_schema.parquet"
    assert files[1].parent.name == "load_date=2026-02-01"
    assert files[1].name.startswith("r-9-000001")
    assert frame.filter(pl.col("record_id") == "702").height == 1


LATER = datetime(2026, 1, 31, 18, 0, tzinfo=UTC)


def updated_version(expected, source: str) -> tuple[str, dict, str]:
    """A newer version of one record of the source's paged stream: (stream, record, id)."""
    import json

    stream = PAGED_STREAMS[source]
    frames = expected(source, stream)
    if source == "matomo":
        record = json.loads(frames.filter(pl.col("record_id") == "12")["record"].item())
        record.update(lastActionTimestamp=int(LATER.timestamp()), actions=3)
        return stream, record, "12"
    if source == "mailchimp":
        record = json.loads(frames.filter(pl.col("record_id") == "hash0005")["record"].item())
        record.update(status="unsubscribed", last_changed="2026-01-31T18:00:00+00:00")
        return stream, record, "hash0005"
    if source == "shopify":
        record = json.loads(frames.filter(pl.col("record_id") == "1010")["record"].item())
        record.update(financial_status="refunded", updated_at="2026-01-31T13:00:00-05:00")
        return stream, record, "1010"
    record = json.loads(frames.filter(pl.col("record_id") == "5")["record"].item())
    record.update(status="solved", updated_at="2026-01-31T18:00:00Z")
    return stream, record, "5"


@pytest.mark.parametrize("source", VENDORS)
def test_a_record_updated_between_runs_lands_both_versions_and_dedup_keeps_the_newer(
    source, sandbox, expected, tmp_path: Path
):
    from datetime import date

    from pipelines.extract.landing import deduplicate
    from pipelines.extract.runner import plan_window

    server = sandbox()
    settings = make_settings(server, tmp_path / "data")
    run(settings, source, run_id="night-1")
    stream, record, record_id = updated_version(expected, source)
    server.upsert(source, stream, record, updated_at=LATER)
    server.set_clock(LATER)
    window = plan_window(
        settings, source, first_day=date(2026, 2, 1), last_day=date(2026, 2, 1), full_refresh=False
    )
    assert window.start == datetime(2026, 1, 29, tzinfo=UTC)  # cursor 2026-02-01 - 3 days
    results = {result.stream: result for result in run(settings, source, "night-2", window=window)}
    assert results[stream].records >= 1
    raw = landed(settings, source, stream).filter(pl.col("record_id") == record_id)
    assert raw.height == 2
    assert sorted(raw.get_column("record_updated_at").to_list())[-1] == LATER
    latest = deduplicate(landed(settings, source, stream)).filter(pl.col("record_id") == record_id)
    assert latest.get_column("record_updated_at").item() == LATER
    changed = "actions" if source == "matomo" else "status"
    if source == "shopify":
        changed = "financial_status"
    assert latest.get_column("record").str.json_path_match(f"$.{changed}").item() == str(
        record[changed]
    )


def test_contract_breaches_are_quarantined_with_reasons(sandbox, expected, tmp_path: Path):
    server = sandbox()
    base = {"created_at": "2026-01-30T10:00:00Z", "updated_at": "2026-01-30T10:00:00Z"}
    server.upsert("shopify", "orders", {"id": None, **base}, updated_at=LATER, record_id="x1")
    server.upsert(
        "shopify", "orders", {"id": 9001, **base, "updated_at": "next tuesday"}, updated_at=LATER
    )
    server.upsert("shopify", "orders", {"id": 9002, **base, "test": "no"}, updated_at=LATER)
    server.set_clock(LATER)
    settings = make_settings(server, tmp_path / "data")
    results = {result.stream: result for result in run(settings, "shopify")}
    assert results["orders"].quarantined == 3
    from pipelines.extract.landing import read_quarantine

    quarantined = read_quarantine(settings.quarantine_dir, "shopify", "orders")
    assert sorted(quarantined.get_column("reason").to_list()) == [
        "missing natural key id",
        'unparsable timestamp updated_at: "next tuesday"',
        'wrong type: test should be boolean, got "no"',
    ]
    assert quarantined.get_column("_run_id").unique().to_list() == ["run-1"]
    assert_deduplicated_equal(landed(settings, "shopify", "orders"), expected("shopify", "orders"))


def test_unknown_fields_are_kept_and_reported(sandbox, tmp_path: Path):
    server = sandbox()
    user = {
        "id": 9100,
        "name": "New",
        "email": "new@example.com",
        "role": "end-user",
        "created_at": "2026-01-31T00:00:00Z",
        "updated_at": "2026-01-31T18:00:00Z",
        "shoe_size": 44,
    }
    server.upsert("zendesk", "users", user, updated_at=LATER)
    server.set_clock(LATER)
    settings = make_settings(server, tmp_path / "data")
    results = {result.stream: result for result in run(settings, "zendesk")}
    assert results["users"].unknown_fields == {"shoe_size": 1}
    row = landed(settings, "zendesk", "users").filter(pl.col("record_id") == "9100")
    assert row.get_column("_unknown_fields").to_list() == [["shoe_size"]]
    assert '"shoe_size":44' in row.get_column("record").item()


def test_a_required_field_missing_from_a_whole_page_fails_the_stream(sandbox, tmp_path: Path):
    from pipelines.extract.errors import SchemaDriftError

    server = sandbox()
    for number in range(4):
        renamed = {"id": 9200 + number, "name": "X", "modified_at": "2026-01-31T18:00:00Z"}
        server.upsert("zendesk", "users", renamed, updated_at=LATER)
    server.set_clock(LATER)
    settings = make_settings(server, tmp_path / "data", JOURNEY_HTTP_PAGE_SIZE="4")
    with pytest.raises(SchemaDriftError) as caught:
        run(settings, "zendesk")
    assert "zendesk/users" in str(caught.value) and "updated_at" in str(caught.value)
    assert read_cursor(settings.state_dir, "zendesk", "users") is None
    assert read_cursor(settings.state_dir, "zendesk", "tickets") is not None
    assert landed(settings, "zendesk", "users").height == 8  # the pages before the drift


def test_a_demo_generator_dataset_extracts_cleanly_and_matches_direct_landing(tmp_path: Path):
    generator = pytest.importorskip("devkit.demo.generator")
    from devkit.sandbox import SandboxServer
    from devkit.vendor_dataset import dataset_end
    from pipelines.extract.compaction import COMPACTED, compact_stream
    from pipelines.extract.landing import read_quarantine
    from pipelines.extract.runner import plan_window

    dataset = tmp_path / "demo"
    generator.generate(dataset, persons=150, seed=3)
    last_day = dataset_end(dataset).date()
    reference = tmp_path / "reference"
    land_vendor_dataset(dataset, reference / "landing", reference / "quarantine", "ref")
    for (source, stream), mode in COMPACTED.items():  # extraction compacts these streams
        compact_stream(reference / "landing", source, stream, mode)
    with SandboxServer(dataset) as server:
        settings = make_settings(
            server,
            tmp_path / "data",
            JOURNEY_PARTITIONS_START="2025-01-01",
            JOURNEY_HTTP_PAGE_SIZE="100",
        )
        for source in VENDORS:
            window = plan_window(
                settings, source, first_day=last_day, last_day=last_day, full_refresh=True
            )
            results = run(settings, source, window=window)
            for result in results:
                assert result.quarantined == 0 and result.unknown_fields == {}, result
                assert_frame_equal(
                    comparable(landed(settings, source, result.stream)),
                    comparable(read_landing(reference / "landing", source, result.stream)),
                )
                assert read_quarantine(settings.quarantine_dir, source, result.stream).height == 0
