"""Mailchimp windowing and landing compaction (issue 17): two nights against the sandbox.

Night 1 is a full refresh. Before night 2 a recipient of the automation changes (opened the
email) and a new campaign is sent; night 2 asks the reports only of the campaigns of the window
(and of the automation), the re-pulled recipients replace their landed rows, and the landing
deduplicated as staging reads it equals one full pull at the later clock.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.extract.compaction import compact_stream, dead_rows, landed_files
from pipelines.extract.landing import StreamWriter, deduplicate, validate_records
from pipelines.extract.runner import plan_window
from pipelines.extract.streams import stream_spec, streams_of
from tests.extract.conftest import comparable, landed, make_settings, run
from tests.extract.vendor_fixture import LIST_ID, mailchimp_time, report_row, row

LATER = datetime(2026, 1, 31, 18, 0, tzinfo=UTC)
NIGHT_2 = date(2026, 2, 1)


def new_campaign() -> dict:
    return {
        "id": "camp0003",
        "campaign_title": "February preview",
        "type": "regular",
        "list_id": LIST_ID,
        "subject_line": "Preview",
        "emails_sent": 3,
        "send_time": mailchimp_time(LATER),
    }


def change_the_sandbox(server) -> str:
    """An automation recipient opens the email; a new campaign goes to three recipients.
    Returns the record id of the changed recipient."""
    opened = report_row("camp0002", 2, LATER, "sent_to")
    opened["record"] = json.dumps(
        {**json.loads(opened["record"]), "open_count": 5, "last_open": mailchimp_time(LATER)}
    )
    server.upsert("mailchimp", "sent_to", opened["record"], updated_at=LATER)
    campaign = row(new_campaign(), LATER, "camp0003")
    server.upsert("mailchimp", "campaigns", campaign["record"], updated_at=LATER)
    for number in (1, 2, 3):
        for stream in ("sent_to", "email_activity"):
            served = report_row("camp0003", number, LATER, stream)
            server.upsert("mailchimp", stream, served["record"], updated_at=LATER)
    server.set_clock(LATER)
    return opened["record_id"]


@pytest.fixture
def two_nights(sandbox, tmp_path: Path):
    server = sandbox()
    settings = make_settings(server, tmp_path / "nights", JOURNEY_MAILCHIMP_WINDOW_DAYS="10")
    run(settings, "mailchimp", run_id="night-1")
    changed = change_the_sandbox(server)
    server.clear_request_log()
    window = plan_window(
        settings, "mailchimp", first_day=NIGHT_2, last_day=NIGHT_2, full_refresh=False
    )
    run(settings, "mailchimp", run_id="night-2", window=window)
    requests = [entry["path"] for entry in server.request_log]
    full = make_settings(server, tmp_path / "full")
    run(full, "mailchimp", run_id="full")
    return settings, full, changed, requests


def test_the_second_night_asks_only_the_windowed_campaigns(two_nights):
    _, _, _, requests = two_nights
    # camp0001 was sent on Jan 5, before the window (Jan 29 - 10 days); camp0002 is an
    # automation (always asked); camp0003 is new
    assert {path.split("/")[-2] for path in requests if "/reports/camp" in path} == {
        "camp0002",
        "camp0003",
    }


def test_a_repulled_record_replaces_its_landed_row(two_nights):
    settings, _, changed, _ = two_nights
    rows = landed(settings, "mailchimp", "sent_to")
    mine = rows.filter(pl.col("record_id") == changed)
    assert mine.height == 1
    assert mine.get_column("record").str.json_path_match("$.open_count").item() == "5"
    assert mine.get_column("_run_id").item() == "night-2"
    # every re-pulled automation recipient that did not change keeps one row
    assert rows.get_column("record_id").is_unique().all()
    untouched = rows.filter(pl.col("record_id").str.starts_with("camp0001"))
    assert set(untouched.get_column("_run_id")) == {"night-1"} and untouched.height == 10


@pytest.mark.parametrize("stream", ["sent_to", "email_activity", "unsubscribes", "campaigns"])
def test_two_windowed_nights_land_what_one_full_pull_lands(two_nights, stream):
    settings, full, _, _ = two_nights
    nights, once = landed(settings, "mailchimp", stream), landed(full, "mailchimp", stream)
    assert_frame_equal(comparable(deduplicate(nights)), comparable(deduplicate(once)))
    if stream != "campaigns":  # compacted: not one row more than the full pull
        assert nights.height == once.height


def test_landing_stays_flat_over_nights_without_new_data(sandbox, tmp_path: Path):
    server = sandbox()
    settings = make_settings(server, tmp_path / "data", JOURNEY_MAILCHIMP_WINDOW_DAYS="400")
    heights = []
    for night in range(3):
        window = plan_window(
            settings, "mailchimp", first_day=NIGHT_2, last_day=NIGHT_2, full_refresh=night == 0
        )
        run(settings, "mailchimp", run_id=f"night-{night}", window=window)
        heights.append(
            {
                stream: landed(settings, "mailchimp", stream).height
                for stream in streams_of("mailchimp")[2:]
            }
        )
    assert heights[0] == heights[1] == heights[2]
    assert heights[0] == {"sent_to": 14, "email_activity": 5, "unsubscribes": 1}


def _page(stream: str, records: list[dict], night: int):
    texts = pl.Series([json.dumps(record) for record in records])
    spec = stream_spec("mailchimp", stream)
    extracted_at = datetime(2026, 2, night, tzinfo=UTC)
    return validate_records(spec, texts, run_id=f"n{night}", extracted_at=extracted_at)


def test_event_streams_drop_only_identical_versions(tmp_path: Path):
    """A differing email-activity version may hold only the newest events: it stays."""
    root = tmp_path / "landing"
    base = json.loads(report_row("camp0001", 1, LATER, "email_activity")["record"])
    newer = {**base, "activity": base["activity"][:1]}
    for night, records in enumerate([[base], [base, newer]], start=1):
        writer = StreamWriter(
            root, tmp_path / "q", "mailchimp", "email_activity", f"n{night}", NIGHT_2
        )
        writer.add(_page("email_activity", records, night))
        writer.flush()
    done = compact_stream(root, "mailchimp", "email_activity", "identical")
    assert (done.rows_removed, done.files_deleted, done.files_rewritten) == (1, 1, 0)
    rows = landed_rows(root, "email_activity")
    assert rows.height == 2 and set(rows.get_column("_run_id")) == {"n2"}


def test_superseded_versions_go_and_a_second_compaction_finds_nothing(tmp_path: Path):
    root = tmp_path / "landing"
    first = json.loads(report_row("camp0001", 1, LATER, "sent_to")["record"])
    other = json.loads(report_row("camp0001", 2, LATER, "sent_to")["record"])
    changed = {**first, "open_count": 9}
    for night, records in enumerate([[first, other], [changed]], start=1):
        writer = StreamWriter(root, tmp_path / "q", "mailchimp", "sent_to", f"n{night}", NIGHT_2)
        writer.add(_page("sent_to", records, night))
        writer.flush()
    done = compact_stream(root, "mailchimp", "sent_to", "superseded")
    assert (done.rows_removed, done.files_deleted, done.files_rewritten) == (1, 0, 1)
    rows = landed_rows(root, "sent_to").sort("_run_id")
    assert rows.get_column("_run_id").to_list() == ["n1", "n2"]
    assert rows.get_column("record").str.json_path_match("$.open_count").to_list()[1] == "9"
    assert dead_rows(landed_files(root, "mailchimp", "sent_to"), "superseded").height == 0
    assert not list(root.glob("**/*.tmp"))


def landed_rows(root: Path, stream: str) -> pl.DataFrame:
    from pipelines.extract.landing import read_landing

    return read_landing(root, "mailchimp", stream)
