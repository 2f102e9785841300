"""The report's rules on small exact cases: the period and its comparison, changes and their
colours, the run facts it finds on disk, and how the attribution models are told apart."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from pipelines.report.attribution import explanations
from pipelines.report.compare import Change, format_value
from pipelines.report.period import Period, choose_period
from pipelines.report.reader import ReportError
from pipelines.report.trust import facts_from_disk


def test_the_default_period_is_the_last_30_days_of_data_against_the_30_before():
    period = choose_period(date(2026, 9, 30))
    assert (period.first_day, period.last_day, period.days) == (
        date(2026, 9, 1),
        date(2026, 9, 30),
        30,
    )
    assert period.previous == Period(date(2026, 8, 2), date(2026, 8, 31))


def test_a_given_period_is_compared_with_the_previous_one_of_equal_length():
    period = choose_period(date(2026, 9, 30), date(2026, 7, 1), date(2026, 7, 10))
    assert period.previous == Period(date(2026, 6, 21), date(2026, 6, 30))
    assert choose_period(date(2026, 9, 30), first_day=date(2026, 9, 20)) == Period(
        date(2026, 9, 20), date(2026, 9, 30)
    )
    assert choose_period(date(2026, 9, 30), last_day=date(2026, 6, 30)) == Period(
        date(2026, 6, 1), date(2026, 6, 30)
    )
    assert choose_period(None, first_day=date(2026, 1, 5)) == Period(
        date(2026, 1, 5), date(2026, 1, 5)
    )
    with pytest.raises(ReportError, match="before it starts"):
        choose_period(date(2026, 9, 30), date(2026, 9, 30), date(2026, 9, 1))
    with pytest.raises(ReportError, match="no touchpoints"):
        choose_period(None)


@pytest.mark.parametrize(
    ("first", "last", "months"),
    [
        (date(2026, 9, 1), date(2026, 9, 30), [date(2026, 9, 1)]),
        (date(2026, 8, 2), date(2026, 8, 31), [date(2026, 8, 1)]),  # 30 of 31 days
        (date(2026, 7, 3), date(2026, 9, 30), [date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1)]),
        (date(2026, 9, 21), date(2026, 9, 30), [date(2026, 9, 1)]),  # under half: the last day's
        (date(2026, 1, 20), date(2026, 2, 20), [date(2026, 2, 1)]),  # Jan 12 of 31, Feb 20 of 28
    ],
)  # fmt: skip
def test_monthly_marts_are_read_for_the_months_at_least_half_inside(first, last, months):
    assert Period(first, last).months() == months


@pytest.mark.parametrize(
    ("change", "text", "css"),
    [
        (Change(110, 100, "count", 1), "+10 %", "better"),
        (Change(90, 100, "count", 1), "-10 %", "worse"),
        (Change(101, 100, "count", 1), "+1 %", "flat"),  # below the noise floor
        (Change(0.42, 0.40, "rate", -1), "+2.0 pp", "worse"),  # e.g. drop-off
        (Change(30.0, 10.0, "score", 1), "+20 pts", "better"),
        (Change(5, 0, "count", 1), "new", "neutral"),
        (Change(0, 0, "count", 1), "no comparison", "neutral"),
        (Change(None, 0.3, "rate", 1), "no data", "neutral"),
        (Change(12.0, 6.0, "days", 0), "+100 %", "neutral"),  # neither better nor worse
    ],
)
def test_a_change_is_printed_and_coloured_by_whether_higher_is_better(change, text, css):
    assert change.text() == text and change.css_class() == css
    assert (change.background() == "#f3f4f6") == (css in ("flat", "neutral"))


def test_stronger_changes_get_stronger_colours():
    small, large = Change(105, 100, "count", 1), Change(150, 100, "count", 1)
    assert 0 < small.performance() < large.performance() == 1.0


@pytest.mark.parametrize(
    ("value", "kind", "shown"),
    [
        (1234, "count", "1,234"),
        (0.8642, "rate", "86.4 %"),
        (0.0007, "days", "1 min"),
        (0.5, "days", "12.0 h"),
        (18.05, "days", "18.1 d"),
        (52.75, "money", "52.75"),
        (152.75, "money", "153"),
        (258.4, "money", "258"),
        (42.9, "score", "+43"),
        (None, "rate", "–"),
    ],
)
def test_values_are_formatted_for_reading(value, kind, shown):
    assert format_value(value, kind) == shown


def test_each_attribution_model_is_explained_against_the_linear_split():
    revenue = pl.DataFrame(
        {
            "attribution_model": ["linear", "linear", "first_touch", "first_touch", "markov", "markov"],
            "channel": ["Email", "Direct", "Email", "Direct", "Email", "Direct"],
            "revenue": [50.0, 50.0, 100.0, 0.0, 50.2, 49.8],
        }
    )  # fmt: skip
    lines = dict(explanations(revenue).iter_rows())
    assert list(explanations(revenue)["attribution_model"]) == ["first_touch", "markov", "linear"]
    assert lines["first_touch"] == (
        "first_touch: all credit to the session that opened the path; favours Email "
        "(+50 against linear), Direct loses most (-50)."
    )
    assert lines["markov"].endswith("here the same split as linear.")
    assert lines["linear"].startswith("linear: credit split evenly")


def _run_report(folder, name, run_id, published):
    folder.mkdir(parents=True, exist_ok=True)
    report = {
        "run_id": run_id,
        "published": published,
        "publish": {"reason": "blocking checks failed"},
    }
    (folder / name).write_text(json.dumps(report))


def test_run_facts_come_from_the_newest_run_that_published(tmp_path):
    assert facts_from_disk(tmp_path).run is None
    assert "no run report" in facts_from_disk(tmp_path).origin
    _run_report(tmp_path / "2026-10-01", "run-a.json", "run-a", True)
    _run_report(tmp_path, "latest.json", "run-a", True)
    assert facts_from_disk(tmp_path).run_id == "run-a"
    _run_report(tmp_path / "2026-10-02", "run-b.json", "run-b", False)
    _run_report(tmp_path, "latest.json", "run-b", False)
    facts = facts_from_disk(tmp_path)
    assert facts.run_id == "run-a" and facts.origin.endswith("run-a.json")
    assert facts.notes == ["the latest run run-b did not publish (blocking checks failed)"]
