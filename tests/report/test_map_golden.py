"""The map on a hand-made warehouse with the AIDA phase model: exact figures per phase, the
KPI families placed by the data (not by phase names), and a report built from nothing but
the columns the report declares it reads.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from pipelines.report import build_report
from pipelines.report.phases import load_phases
from pipelines.report.reader import PublishedWarehouse
from pipelines.report.trust import RunFacts

AIDA = [("awareness", 1, "Awareness"), ("interest", 2, "Interest"), ("decision", 3, "Decision"),
        ("action", 4, "Action"), ("loyalty", 5, "Loyalty")]  # fmt: skip

# person, phase, rank, entered, exited, next phase. Period: March 2026 (Mar 1-30), previous Jan 30-Feb 28.
SPELLS = [
    ("p1", "awareness", 1, "2026-03-02 10:00", "2026-03-03 10:00", "interest"),
    ("p1", "interest", 2, "2026-03-03 10:00", "2026-03-20 10:00", "action"),
    ("p1", "action", 4, "2026-03-20 10:00", None, None),
    ("p2", "awareness", 1, "2026-03-05 08:00", "2026-04-10 08:00", "interest"),  # moves after the period
    ("p3", "awareness", 1, "2026-02-10 09:00", "2026-02-11 09:00", "interest"),
    ("p3", "interest", 2, "2026-02-11 09:00", None, None),
    ("p4", "loyalty", 5, "2026-03-10 09:00", "2026-08-01 09:00", "awareness"),  # lapsed, came back
]  # fmt: skip

# touchpoint type, is customer, score, phase (what the AIDA rules make of them), times
TOUCHPOINTS = [
    ("page_view", False, None, "awareness", 3),
    ("newsletter_signup", False, None, "interest", 2),
    ("form_submit", False, None, "decision", 1),
    ("order", False, None, "action", 1),
    ("page_view", True, None, "loyalty", 2),
    ("order", True, None, "loyalty", 1),
    ("nps_response", True, 10, "loyalty", 1),
    ("nps_response", True, 3, "loyalty", 1),
]


@pytest.fixture(scope="module")
def aida(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("aida") / "journey.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.dim_journey_phases (phase varchar, phase_rank integer, label varchar)"
        )
        con.executemany("insert into marts.dim_journey_phases values (?, ?, ?)", AIDA)
        con.execute(
            "create table marts.fct_journey_phases (person_id varchar, phase varchar, phase_rank integer, "
            "entered_at timestamp, exited_at timestamp, next_phase varchar, duration_seconds double)"
        )
        con.executemany(
            "insert into marts.fct_journey_phases values (?, ?, ?, ?::timestamp, ?::timestamp, ?, "
            "date_diff('second', ?::timestamp, ?::timestamp))",
            [(*spell, spell[3], spell[4]) for spell in SPELLS],
        )
        con.execute(
            "create table marts.fct_touchpoints (occurred_at timestamp, source varchar, touchpoint_type varchar, "
            "channel varchar, is_customer boolean, touchpoint_score double, phase varchar)"
        )
        rows = [
            (datetime(2026, 3, 1 + i), "matomo", kind, "Direct", customer, score, phase)
            for kind, customer, score, phase, times in TOUCHPOINTS
            for i in range(times)
        ]
        con.executemany("insert into marts.fct_touchpoints values (?, ?, ?, ?, ?, ?, ?)", rows)
    return path


def test_kpi_families_go_to_the_phase_their_touchpoints_are_evidence_of(aida):
    with PublishedWarehouse(aida) as warehouse:
        phases = load_phases(warehouse)
    assert phases.names == ["awareness", "interest", "decision", "action", "loyalty"]
    assert phases.homes == {
        "awareness": "awareness",  # prospects' page views
        "acquisition": "interest",  # sign-ups
        "conversion": "action",  # first orders
        "retention": "loyalty",  # customers' page views
        "loyalty": "loyalty",  # repeat orders
        "nps": "loyalty",  # NPS promoters
    }


def test_the_map_of_a_hand_made_aida_warehouse(aida, tmp_path):
    out = tmp_path / "aida.html"
    result = build_report(
        aida, out, facts=RunFacts(origin="test"), first_day=date(2026, 3, 1),
        last_day=date(2026, 3, 30), image=False,
    )  # fmt: skip
    html = out.read_text()
    columns = re.findall(r'<div class="phase" data-phase="(\w+)"><header[^>]*>([^<]+)<', html)
    assert columns == [(phase, label) for phase, _, label in AIDA]
    cells = {
        (phase, metric): (value, previous)
        for phase, metric, value, previous in re.findall(
            r'data-phase="(\w+)" data-metric="([\w:]+)" data-value="([^"]*)" data-previous="([^"]*)"',
            html,
        )
    }
    number = lambda text: None if text == "" else float(text)  # noqa: E731
    figures = {key: (number(v), number(p)) for key, (v, p) in cells.items()}
    assert figures[("awareness", "reached")] == (2, 1)  # p1, p2 / p3
    assert figures[("awareness", "moved_on_rate")] == (0.5, 1.0)  # p2 moves on after the period
    assert figures[("awareness", "dropoff_rate")] == (0.5, 0.0)
    assert figures[("awareness", "median_days")] == (1.0, 1.0)
    assert figures[("interest", "reached")] == (1, 1)
    assert figures[("interest", "moved_on_rate")] == (1.0, 0.0)
    assert figures[("interest", "median_days")] == (17.0, None)
    assert figures[("decision", "reached")] == (0, 0)
    assert figures[("decision", "moved_on_rate")] == (None, None)
    assert figures[("action", "reached")] == (1, 0)
    assert figures[("loyalty", "reached")] == (1, 0)
    assert ("loyalty", "moved_on_rate") not in figures  # the last phase has no next phase
    assert figures[("loyalty", "nps")] == (0.0, None)  # one promoter, one detractor
    assert figures[("awareness", "touchpoint_type:page_view")] == (3, 0)
    assert figures[("loyalty", "channel:Direct")] == (5, 0)
    # faster is better before the first order (awareness), neither after it (loyalty)
    awareness_days = re.search(
        r'class="cell (\w+)"[^>]*data-phase="awareness" data-metric="median_days"', html
    )
    assert awareness_days and awareness_days.group(1) == "flat"
    # what the file lacks is named, and nothing else breaks
    assert "marts.fct_support_tickets is not in the warehouse" in result.notes
    assert "KPI not shown: marts.kpi_awareness_daily is not in the warehouse" in result.notes
    assert html.count('data-empty-chart="') == 7 and html.count('class="chart"') == 1  # the Sankey
