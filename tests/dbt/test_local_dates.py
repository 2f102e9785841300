"""`<event>_local_date` columns (issue 21): the day of a UTC timestamp in the reporting time zone.

dbt runs the macro `local_date` (dbt var `reporting_timezone`, fed by JOURNEY_SCHEDULE_TIMEZONE,
which the harness pins to UTC unless a test sets `Warehouse.schedule_timezone`) on DuckDB over
a tiny fixture of UTC timestamps: the last and first second of local days around both
daylight-saving changes of Europe/Berlin and the spring change of America/New_York, where the
UTC time of local midnight moves by an hour. The expected dates are written out by hand.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from tests.dbt.harness import DbtFailed, Warehouse

# UTC timestamp -> (date in Europe/Berlin, date in America/New_York, date in UTC)
CASES = {
    # Berlin, spring forward on 2026-03-29 (01:00 UTC): midnight is 23:00 UTC before, 22:00 after
    "2026-03-28 22:59:59": (date(2026, 3, 28), date(2026, 3, 28), date(2026, 3, 28)),
    "2026-03-28 23:00:00": (date(2026, 3, 29), date(2026, 3, 28), date(2026, 3, 28)),
    "2026-03-29 21:59:59": (date(2026, 3, 29), date(2026, 3, 29), date(2026, 3, 29)),
    "2026-03-29 22:00:00": (date(2026, 3, 30), date(2026, 3, 29), date(2026, 3, 29)),
    # Berlin, fall back on 2026-10-25 (01:00 UTC): midnight is 22:00 UTC before, 23:00 after
    "2026-10-24 21:59:59": (date(2026, 10, 24), date(2026, 10, 24), date(2026, 10, 24)),
    "2026-10-24 22:00:00": (date(2026, 10, 25), date(2026, 10, 24), date(2026, 10, 24)),
    "2026-10-25 22:59:59": (date(2026, 10, 25), date(2026, 10, 25), date(2026, 10, 25)),
    "2026-10-25 23:00:00": (date(2026, 10, 26), date(2026, 10, 25), date(2026, 10, 25)),
    # New York, spring forward on 2026-03-08 (07:00 UTC): midnight is 05:00 UTC before, 04:00 after
    "2026-03-08 04:59:59": (date(2026, 3, 8), date(2026, 3, 7), date(2026, 3, 8)),
    "2026-03-08 05:00:00": (date(2026, 3, 8), date(2026, 3, 8), date(2026, 3, 8)),
    "2026-03-09 03:59:59": (date(2026, 3, 9), date(2026, 3, 8), date(2026, 3, 9)),
    "2026-03-09 04:00:00": (date(2026, 3, 9), date(2026, 3, 9), date(2026, 3, 9)),
    # UTC midnight
    "2026-03-09 23:59:59.999999": (date(2026, 3, 10), date(2026, 3, 9), date(2026, 3, 9)),
    "2026-03-10 00:00:00": (date(2026, 3, 10), date(2026, 3, 9), date(2026, 3, 10)),
}


def shown(warehouse: Warehouse, inline: str) -> list[dict]:
    """Rows of `dbt show --inline` (dbt compiles the macros and runs the query on DuckDB)."""
    output = warehouse.dbt("show", "--inline", inline, "--output", "json", "--limit", "-1")
    return json.loads(output[output.index("{") : output.rindex("}") + 1])["show"]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Warehouse:
    return Warehouse(tmp_path_factory.mktemp("local_dates"))


def test_local_dates_around_midnight_and_daylight_saving_changes(warehouse):
    """The zone comes from JOURNEY_SCHEDULE_TIMEZONE through the dbt var; a null stays null."""
    warehouse = replace(warehouse, schedule_timezone="Europe/Berlin")
    values = ", ".join(f"(cast('{at}' as timestamp))" for at in CASES) + ", (null)"
    dispatch = "adapter.dispatch('local_date', 'journey_warehouse')"
    inline = (
        "select cast(utc_at as varchar) as utc_at, "
        "cast({{ local_date('utc_at') }} as varchar) as berlin, "
        f"cast({{{{ {dispatch}('utc_at', \"'America/New_York'\") }}}} as varchar) as new_york, "
        f"cast({{{{ {dispatch}('utc_at', \"'UTC'\") }}}} as varchar) as utc, "
        "'{{ var(\"reporting_timezone\") }}' as zone "
        f"from (values {values}) as fixture (utc_at) order by utc_at nulls last"
    )
    rows = shown(warehouse, inline)

    assert {row["zone"] for row in rows} == {"Europe/Berlin"}
    assert {
        (row["utc_at"] or "")[:19]: (row["berlin"], row["new_york"], row["utc"]) for row in rows
    } == {
        **{
            at[:19]: (str(berlin), str(new_york), str(utc))
            for at, (berlin, new_york, utc) in CASES.items()
        },
        "": (None, None, None),
    }


def test_the_harness_pins_utc_whatever_the_shell_exports(warehouse, monkeypatch):
    """A developer with JOURNEY_SCHEDULE_TIMEZONE set builds the same warehouse as CI."""
    monkeypatch.setenv("JOURNEY_SCHEDULE_TIMEZONE", "Europe/Berlin")
    rows = shown(warehouse, "select '{{ var(\"reporting_timezone\") }}' as zone")
    assert rows == [{"zone": "UTC"}]


def test_a_zone_that_is_not_an_iana_name_fails_the_compile(warehouse):
    warehouse = replace(warehouse, schedule_timezone="UTC'; drop table x; --")
    with pytest.raises(DbtFailed, match="must be an IANA time zone"):
        shown(warehouse, "select {{ local_date('current_timestamp') }} as day")
