"""The report's period and the period it is compared with.

Default: the last `DEFAULT_DAYS` days of data, ending at the data's last day (the day of the
latest touchpoint), compared with the `DEFAULT_DAYS` days before. A period given by the user
(`--from` / `--to`) is compared with the previous period of equal length, ending the day
before it starts. Days are UTC calendar days, both ends included.

Marts with a monthly grain (cohort or activity months) cannot be cut at a day: they are read
for the calendar months that lie at least half inside the period (`months`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import polars as pl

from pipelines.report.reader import ReportError

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise ReportError(
                f"the period ends ({self.last_day}) before it starts ({self.first_day}); "
                "give --from on or before --to"
            )

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def previous(self) -> Period:
        last = self.first_day - timedelta(days=1)
        return Period(last - timedelta(days=self.days - 1), last)

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.first_day, time())

    @property
    def ends_at(self) -> datetime:
        """The first instant after the period (exclusive end)."""
        return datetime.combine(self.last_day + timedelta(days=1), time())

    @property
    def label(self) -> str:
        if self.first_day == self.last_day:
            return self.first_day.isoformat()
        return f"{self.first_day.isoformat()} – {self.last_day.isoformat()}"

    def months(self) -> list[date]:
        """First days of the calendar months at least half inside the period; the month of the
        last day when none is (a period shorter than half a month)."""
        chosen = []
        month = self.first_day.replace(day=1)
        while month <= self.last_day:
            length = calendar.monthrange(month.year, month.month)[1]
            month_end = month.replace(day=length)
            inside = (min(month_end, self.last_day) - max(month, self.first_day)).days + 1
            if 2 * inside >= length:
                chosen.append(month)
            month = month_end + timedelta(days=1)
        return chosen or [self.last_day.replace(day=1)]

    def months_label(self) -> str:
        months = self.months()
        first, last = months[0].strftime("%b %Y"), months[-1].strftime("%b %Y")
        return first if first == last else f"{first} – {last}"


def join_windows(column: str) -> str:
    """SQL joining rows to `report_windows` by the time in `column`: each window's start is
    included, its end excluded (one rule for every query of the report)."""
    return (
        f"inner join report_windows as windows "
        f"on {column} >= windows.starts_at and {column} < windows.ends_at"
    )


def windows_frame(period: Period) -> pl.DataFrame:
    """`period` ('current' / 'previous'), `starts_at`, `ends_at` (exclusive): the two windows
    every comparison query joins to (registered as `report_windows`)."""
    previous = period.previous
    return pl.DataFrame(
        {
            "period": ["current", "previous"],
            "starts_at": [period.starts_at, previous.starts_at],
            "ends_at": [period.ends_at, previous.ends_at],
        }
    )


def months_frame(period: Period) -> pl.DataFrame:
    """`period`, `month`: the calendar months monthly marts are read for (`report_months`)."""
    current, previous = period.months(), period.previous.months()
    return pl.DataFrame(
        {
            "period": ["current"] * len(current) + ["previous"] * len(previous),
            "month": current + previous,
        }
    )


def choose_period(
    data_last_day: date | None,
    first_day: date | None = None,
    last_day: date | None = None,
    default_days: int = DEFAULT_DAYS,
) -> Period:
    """The period to report: what the user gave, completed from the data's last day.

    `--to` alone: the `default_days` days ending there; `--from` alone: from there to the
    data's last day; neither: the last `default_days` days of data.
    """
    if last_day is None:
        last_day = data_last_day
    if last_day is None:
        if first_day is None:
            raise ReportError("the warehouse holds no touchpoints yet, so it has no period")
        last_day = first_day
    if first_day is None:
        first_day = last_day - timedelta(days=default_days - 1)
    return Period(first_day, last_day)
