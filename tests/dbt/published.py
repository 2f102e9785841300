"""Checksums of the published tables (schemas marts and identity) of a built warehouse.

`published_checksums(database)` gives, per table, its row count and one order-independent
checksum per column (the sum of the values' hashes; doubles rounded to 6 decimals first, so a
different summation order in an aggregate does not count as a change). Columns that hold the
build's wall-clock time (`VOLATILE`) are left out. `tests/dbt/golden/published.json` holds the
checksums of the demo builds (vendor path and file-drop path) made from `main` before issue 16's
refactoring; test_published_unchanged.py compares every build against it.

Regenerate (only when a change to published data is intended, and say so in the commit):
`python -m tests.dbt.published tests/dbt/golden/published.json`.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import duckdb

SCHEMAS = ("marts", "identity")
VOLATILE = frozenset({"merged_at", "split_at"})
"""Columns holding when the build ran (the identity step's run time), not what it computed."""


def published_checksums(database: Path) -> dict[str, dict]:
    result: dict[str, dict] = {}
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in {SCHEMAS} and table_type = 'BASE TABLE' order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            kept = [(name, kind) for name, kind in columns if name not in VOLATILE]
            terms = ["count(*)::varchar"] + [
                f"coalesce(sum(hash(round(\"{name}\", 6)))::varchar, '')"
                if kind in ("DOUBLE", "FLOAT", "REAL")
                else f"coalesce(sum(hash(\"{name}\"))::varchar, '')"
                for name, kind in kept
            ]
            row = con.execute(f"select {', '.join(terms)} from {schema}.{table}").fetchone()
            result[f"{schema}.{table}"] = {
                "rows": int(row[0]),
                "columns": {name: value for (name, _), value in zip(kept, row[1:], strict=True)},
            }
    return result


def demo_checksums() -> dict[str, dict]:
    """Build the two demo warehouses of tests/dbt/conftest.py and checksum them."""
    from tests.dbt.conftest import build_drop_path, build_vendor_path

    checksums = {}
    for name, build in (("vendor", build_vendor_path), ("drop", build_drop_path)):
        with tempfile.TemporaryDirectory(prefix=f"published-{name}-") as root:
            build(Path(root))
            checksums[name] = published_checksums(
                Path(root) / "warehouse" / "build" / "journey.duckdb"
            )
    return checksums


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(demo_checksums(), indent=1, sort_keys=True) + "\n")
