"""Frames under test: landing records of one run with contract fields parsed the way dbt
staging parses them; warehouse queries on a read-only DuckDB file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import duckdb
import pandas as pd
import polars as pl
import pytest

from pipelines.extract.landing import (
    LANDING_SCHEMA,
    StreamWriter,
    conform,
    validate_records,
    write_parquet_atomic,
)
from pipelines.extract.streams import stream_spec
from pipelines.quality.frames import landing_frame, warehouse_frame
from pipelines.quality.suites import LandingField, LandingFrame, WarehouseFrame

EXTRACTED_AT = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def land(landing_root, source: str, stream: str, records: list[dict], run_id: str) -> None:
    """Land records through the real landing writer (contracts §3)."""
    page = validate_records(
        stream_spec(source, stream),
        pl.Series([json.dumps(record) for record in records]),
        run_id=run_id,
        extracted_at=EXTRACTED_AT,
    )
    assert page.quarantine.height == 0, page.quarantine["reason"].to_list()
    writer = StreamWriter(
        landing_root=landing_root,
        quarantine_root=landing_root.parent / "quarantine",
        source=source,
        stream=stream,
        run_id=run_id,
        load_date=date(2026, 3, 2),
    )
    writer.add(page)
    writer.flush()


ORDERS = LandingFrame(
    source="shopify",
    stream="orders",
    fields=(
        LandingField("id", "$.id", "text"),
        LandingField("email", "$.email", "text"),
        LandingField("created_at", "$.created_at", "timestamp_iso"),
        LandingField("cancelled_at", "$.cancelled_at", "timestamp_iso"),
        LandingField("total_price", "$.total_price", "number"),
        LandingField("test", "$.test", "boolean"),
        LandingField("customer_id", "$.customer.id", "integer"),
    ),
)


def _order(order_id: int, **fields) -> dict:
    return {
        "id": order_id,
        "created_at": "2026-03-01T10:11:12-05:00",
        "updated_at": "2026-03-01T10:11:12-05:00",
        **fields,
    }


def test_landing_frame_parses_contract_fields_of_this_run_only(tmp_path):
    landing = tmp_path / "landing"
    land(
        landing,
        "shopify",
        "orders",
        [
            _order(1, email=" Ann@X.com", total_price="12.50", test=False, customer={"id": 7}),
            _order(2, email="", cancelled_at="2026-03-01T16:00:00Z", total_price=" "),
        ],
        run_id="run-b",
    )
    land(landing, "shopify", "orders", [_order(3)], run_id="run-a")

    frame = landing_frame(landing, ORDERS, "run-b")

    assert frame["id"].tolist() == ["1", "2"]
    assert frame["email"][0] == " Ann@X.com"  # kept as sent
    assert pd.isna(frame["email"][1])  # blank counts as absent
    assert frame["created_at"].tolist() == [pd.Timestamp("2026-03-01 15:11:12")] * 2  # UTC
    assert frame["cancelled_at"].isna().tolist() == [True, False]
    assert frame["cancelled_at"][1] == pd.Timestamp("2026-03-01 16:00:00")
    assert frame["total_price"][0] == 12.5 and pd.isna(frame["total_price"][1])
    # a blank amount lands as absent; "n/a" is quarantined at landing (test_bad_input.py),
    # and a frame still shows it should a landing bug let it through (test below)
    assert frame["total_price__text"][0] == "12.50" and pd.isna(frame["total_price__text"][1])
    assert frame["test"][0] == False  # noqa: E712 (numpy bool)
    assert frame["customer_id"][0] == 7 and pd.isna(frame["customer_id"][1])
    assert set(ORDERS.columns) == set(frame.columns)


def test_landing_frame_without_files_has_the_columns_and_no_rows(tmp_path):
    frame = landing_frame(tmp_path / "landing", ORDERS, "run-x")
    assert frame.empty
    assert list(frame.columns) == list(ORDERS.columns)


def write_unvalidated(landing_root, source: str, stream: str, records: list[dict], run_id: str):
    """Land records *without* the writer's contract checks: what the checks exist to catch
    when a landing bug lets bad records through."""
    frame = pl.DataFrame(
        {
            "_source": source,
            "_stream": stream,
            "_run_id": run_id,
            "_extracted_at": EXTRACTED_AT,
            "_record_hash": [f"h{index}" for index in range(len(records))],
            "_unknown_fields": [[] for _ in records],
            "record_id": [str(record.get("idVisit", record.get("id"))) for record in records],
            "record_updated_at": None,
            "record": [json.dumps(record) for record in records],
        }
    )
    folder = landing_root / source / stream / "load_date=2026-03-02"
    write_parquet_atomic(conform(frame, LANDING_SCHEMA), folder / f"{run_id}-000001.parquet")


def test_unix_seconds_and_unparsable_timestamps(tmp_path):
    landing = tmp_path / "landing"
    write_unvalidated(
        landing,
        "matomo",
        "visits",
        [
            {"idVisit": 1, "lastActionTimestamp": 1772362800, "serverTimestamp": "1772362800.5"},
            {"idVisit": 2, "lastActionTimestamp": 1772362801, "serverTimestamp": "soon"},
            {"idVisit": 3, "lastActionTimestamp": 1e15, "serverTimestamp": ""},
        ],
        run_id="run-1",
    )
    spec = LandingFrame(
        source="matomo",
        stream="visits",
        fields=(
            LandingField("lastActionTimestamp", "$.lastActionTimestamp", "timestamp_unix"),
            LandingField("serverTimestamp", "$.serverTimestamp", "timestamp_unix"),
        ),
    )
    frame = landing_frame(landing, spec, "run-1")
    assert frame["lastActionTimestamp"][:2].tolist() == [
        pd.Timestamp("2026-03-01 11:00:00"),
        pd.Timestamp("2026-03-01 11:00:01"),
    ]
    assert pd.isna(frame["lastActionTimestamp"][2])  # beyond any sane date: unparsable
    assert frame["serverTimestamp"][0] == pd.Timestamp("2026-03-01 11:00:00.5")
    assert pd.isna(frame["serverTimestamp"][1]) and frame["serverTimestamp__text"][1] == "soon"
    assert pd.isna(frame["serverTimestamp__text"][2])  # "" is absent, not unparsable


def test_an_unparsable_amount_that_got_past_landing_shows_its_text(tmp_path):
    landing = tmp_path / "landing"
    write_unvalidated(
        landing,
        "shopify",
        "orders",
        [_order(1, total_price="12.50"), _order(2, total_price="n/a")],
        run_id="run-1",
    )
    frame = landing_frame(landing, ORDERS, "run-1")
    assert frame["total_price"][0] == 12.5 and pd.isna(frame["total_price"][1])
    assert frame["total_price__text"].tolist() == ["12.50", "n/a"]


def test_warehouse_frame_reads_read_only_and_gives_naive_utc(tmp_path):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(
        "create table marts.t as select 1 as id, timestamp '2026-03-01 10:00:00' as created_at"
    )
    con.close()
    frame = warehouse_frame(path, WarehouseFrame("select * from marts.t"))
    assert frame.to_dict("records") == [{"id": 1, "created_at": pd.Timestamp("2026-03-01 10:00")}]
    with pytest.raises(FileNotFoundError, match="no warehouse"):
        warehouse_frame(tmp_path / "missing.duckdb", WarehouseFrame("select 1"))
