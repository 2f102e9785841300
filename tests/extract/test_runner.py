"""Windows and cursors: pure logic, asserted on exact values."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipelines.extract.cursors import Cursor, advance, read_cursor, write_cursor
from pipelines.extract.errors import StateError
from pipelines.extract.runner import ExtractionWindow, plan_window, streams_of
from tests.extract.conftest import make_settings


def day(month: int, number: int) -> datetime:
    return datetime(2026, month, number, tzinfo=UTC)


def store(settings, source: str, stream: str, value: datetime) -> None:
    cursor = advance(None, source=source, stream=stream, value=value, run_id="r")
    write_cursor(settings.state_dir, cursor)


def window(settings, source: str, first: date, last: date, full: bool = False):
    return plan_window(settings, source, first_day=first, last_day=last, full_refresh=full)


def test_without_a_cursor_the_window_starts_a_lookback_before_the_first_day(tmp_path: Path):
    settings = make_settings(None, tmp_path / "data")
    planned = window(settings, "shopify", date(2026, 3, 10), date(2026, 3, 11), False)
    assert planned == ExtractionWindow(day(3, 7), day(3, 12), False)


def test_an_older_cursor_pulls_the_start_back(tmp_path: Path):
    settings = make_settings(None, tmp_path / "data")
    store(settings, "zendesk", "tickets", day(3, 1))
    store(settings, "zendesk", "users", day(3, 5))
    planned = window(settings, "zendesk", date(2026, 3, 10), date(2026, 3, 10), False)
    assert planned == ExtractionWindow(day(2, 26), day(3, 11), False)


def test_a_newer_cursor_does_not_push_the_start_forward(tmp_path: Path):
    settings = make_settings(None, tmp_path / "data")
    store(settings, "matomo", "visits", day(3, 20))
    planned = window(settings, "matomo", date(2026, 3, 10), date(2026, 3, 10), False)
    assert planned.start == day(3, 7)


def test_full_refresh_starts_at_the_partitions_start(tmp_path: Path):
    settings = make_settings(None, tmp_path / "data")
    store(settings, "matomo", "visits", day(3, 20))
    planned = window(settings, "matomo", date(2026, 3, 10), date(2026, 3, 10), True)
    assert planned == ExtractionWindow(datetime(2025, 12, 1, tzinfo=UTC), day(3, 11), True)


def test_cursors_never_move_back_and_keep_landed_files(tmp_path: Path):
    first = advance(
        None,
        source="filedrop",
        stream="reviews",
        value=day(3, 20),
        run_id="a",
        files=({"name": "a.csv", "size": 1, "sha256": "x"},),
    )
    second = advance(first, source="filedrop", stream="reviews", value=day(3, 2), run_id="b")
    assert second.value == day(3, 20) and second.run_id == "b"
    assert second.files == first.files
    write_cursor(tmp_path, second)
    assert read_cursor(tmp_path, "filedrop", "reviews") == second
    assert sorted(path.name for path in (tmp_path / "cursors").iterdir()) == [
        "filedrop__reviews.json"
    ]


def test_an_unreadable_cursor_says_what_to_do(tmp_path: Path):
    path = tmp_path / "cursors" / "shopify__orders.json"
    path.parent.mkdir(parents=True)
    path.write_text("{broken")
    with pytest.raises(StateError, match="delete it"):
        read_cursor(tmp_path, "shopify", "orders")


def test_streams_of_lists_the_registry():
    assert streams_of("mailchimp") == (
        "members",
        "campaigns",
        "sent_to",
        "email_activity",
        "unsubscribes",
    )
    with pytest.raises(KeyError):
        streams_of("hubspot")
    assert isinstance(Cursor, type)


def test_a_full_refresh_backfill_from_before_the_partitions_start_starts_at_its_first_day(
    tmp_path: Path,
):
    """A run is one window of data days (no partitions bound it any more): a full refresh over
    a range that starts earlier than JOURNEY_PARTITIONS_START extracts from the range's start."""
    settings = make_settings(None, tmp_path / "data")
    planned = window(settings, "matomo", date(2021, 10, 1), date(2026, 3, 10), True)
    assert planned == ExtractionWindow(datetime(2021, 10, 1, tzinfo=UTC), day(3, 11), True)
