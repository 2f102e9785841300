"""Published tables are identical before and after a refactoring (issue 16, "done when").

The golden file holds, per demo build (the vendor path and the file-drop path of conftest.py),
every published table's row count and per-column checksums (`published.py`), made from `main`
before the registry / int_record_persons / rules-as-data refactoring. A refactoring that
changes a published value fails here, naming the table and the columns.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.dbt.conftest import BUILDS
from tests.dbt.published import published_checksums

GOLDEN = Path(__file__).parent / "golden" / "published.json"


@pytest.mark.parametrize("build", BUILDS)
def test_published_tables_equal_the_golden_checksums(build: str, request: pytest.FixtureRequest):
    built = request.getfixturevalue(f"{build}_built")
    expected = json.loads(GOLDEN.read_text())[build]
    actual = published_checksums(built.warehouse.database)

    assert sorted(actual) == sorted(expected)
    changed = {
        table: [
            column
            for column in sorted(set(expected[table]["columns"]) | set(columns["columns"]))
            if expected[table]["columns"].get(column) != columns["columns"].get(column)
        ]
        for table, columns in actual.items()
    }
    changed = {table: columns for table, columns in changed.items() if columns}
    rows = {
        table: (expected[table]["rows"], counts["rows"])
        for table, counts in actual.items()
        if counts["rows"] != expected[table]["rows"]
    }
    assert rows == {}, "row counts (golden, now) differ"
    assert changed == {}, "columns whose values differ from the golden build"
