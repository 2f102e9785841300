"""The terminal view: timestamped lines, and a heartbeat that names what is still running."""

from __future__ import annotations

import io
import time

import pytest

from pipelines.console import Console, active_console, announce, format_seconds


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (0.004, "0.00 s"), (9.994, "9.99 s"), (12.34, "12.3 s"), (59.94, "59.9 s"),
     (65.2, "1 min 05 s"), (3599.4, "59 min 59 s"), (3725, "1 h 02 min")],
)  # fmt: skip
def test_durations_are_written_one_way(seconds, text):
    assert format_seconds(seconds) == text


def test_lines_carry_the_time_since_the_command_started_and_a_label():
    clock, out = Clock(), io.StringIO()
    console = Console(out, clock=clock)
    clock.now += 83
    console.line("landed 1,258 records", label="extract_matomo")
    console.line("first\nsecond")
    assert out.getvalue().splitlines() == [
        "[01:23] extract_matomo           landed 1,258 records",
        "[01:23] first",
        "        second",
    ]


def test_the_heartbeat_names_the_activity_its_duration_and_the_latest_detail():
    clock, out = Clock(), io.StringIO()
    console = Console(out, clock=clock, heartbeat_seconds=5)
    console.activity("running dbt_after_identity")
    clock.now += 4
    assert console.heartbeat() is None  # quiet for 4 s only
    console.detail("dbt 2/2: running model int_sessions (104/392)")
    clock.now += 8
    assert console.heartbeat() == (
        "… still running dbt_after_identity (12.0 s): dbt 2/2: running model int_sessions (104/392)"
    )
    console.line("[105/392] model intermediate.int_sessions OK 9.3 s")
    assert console.heartbeat() is None  # something was just said


def test_announcements_reach_the_active_console_only():
    announce("nobody listens")  # no console: dropped
    out = io.StringIO()
    with active_console(Console(out, heartbeat_seconds=0.2)) as console:
        console.activity("running extract_shopify")
        announce("extracting shopify/orders: 3 pages, 750 records so far")
        deadline = time.monotonic() + 10
        while "750 records" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert "… still running extract_shopify" in out.getvalue()
    assert "extracting shopify/orders: 3 pages, 750 records so far" in out.getvalue()
    announce("after the command")
    assert "after the command" not in out.getvalue()
