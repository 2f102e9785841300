"""File drops: landed once per file, malformed rows quarantined, missing columns fail."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.extract.cursors import read_cursor
from pipelines.extract.errors import SchemaDriftError
from pipelines.extract.landing import read_quarantine
from tests.extract.conftest import landed, make_settings, run
from tests.extract.vendor_fixture import NPS_NDJSON, REVIEWS_CSV


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    root = tmp_path / "drop"
    (root / "reviews").mkdir(parents=True)
    (root / "reviews" / "reviews-2026-01.csv").write_text(REVIEWS_CSV)
    (root / "nps_responses").mkdir()
    (root / "nps_responses" / "nps.ndjson").write_text(NPS_NDJSON)
    return root


def results_by_stream(settings, run_id: str) -> dict:
    return {result.stream: result for result in run(settings, "filedrop", run_id=run_id)}


def test_rows_land_as_json_records(drop: Path, tmp_path: Path):
    settings = make_settings(None, tmp_path / "data", drop_dir=drop)
    results = results_by_stream(settings, "first")
    assert results["reviews"].status == "landed" and results["reviews"].records == 3
    assert results["web_pageviews"].status == "skipped"
    reviews = landed(settings, "filedrop", "reviews").sort("record_id")
    expected = pl.DataFrame(
        {
            "record_id": ["r1", "r2", "r3"],
            "record": [
                '{"review_id":"r1","email":"ann@example.com","rating":"5","title":"Great, really",'
                '"reviewed_at":"2026-01-10T10:00:00Z","product_id":"p1"}',
                '{"review_id":"r2","email":"bob@example.com","rating":"4","title":"Good",'
                '"reviewed_at":"2026-01-11T09:00:00+01:00","product_id":"p2"}',
                '{"review_id":"r3","email":"cy@example.com","rating":"2","title":"Two\\nlines",'
                '"reviewed_at":"2026-01-12","product_id":"p1"}',
            ],
        }
    )
    assert_frame_equal(reviews.select("record_id", "record"), expected)
    assert reviews.get_column("record_updated_at").null_count() == 3
    nps = landed(settings, "filedrop", "nps_responses").sort("record_id")
    assert nps.get_column("record").to_list()[1].startswith('{"response_id":"n2"')


def test_a_file_landed_before_is_not_landed_again(drop: Path, tmp_path: Path):
    settings = make_settings(None, tmp_path / "data", drop_dir=drop)
    results_by_stream(settings, "first")
    again = results_by_stream(settings, "second")
    assert again["reviews"].records == 0 and again["reviews"].files == []
    assert landed(settings, "filedrop", "reviews").height == 3
    cursor = read_cursor(settings.state_dir, "filedrop", "reviews")
    assert [item["name"] for item in cursor.files] == ["reviews-2026-01.csv"]
    # the same name with new content is a new file
    path = drop / "reviews" / "reviews-2026-01.csv"
    path.write_text(REVIEWS_CSV + "r4,dee@example.com,5,Wow,2026-01-20T10:00:00Z,p3\n")
    third = results_by_stream(settings, "third")
    assert third["reviews"].records == 4
    assert landed(settings, "filedrop", "reviews").height == 7


def test_malformed_rows_are_quarantined_with_their_line(drop: Path, tmp_path: Path):
    (drop / "reviews" / "broken.csv").write_text(
        "review_id,email,rating,title,reviewed_at,product_id\n"
        "b1,a@example.com,5,Fine,2026-01-10T10:00:00Z,p1\n"
        "b2,b@example.com,4\n"
        "b3,c@example.com,x,Odd,yesterday,p1\n"
        ",d@example.com,3,No id,2026-01-10T10:00:00Z,p1\n"
    )
    (drop / "nps_responses" / "bad.jsonl").write_text(
        '{"response_id": "n9", "email": "x@example.com", "score": 10, '
        '"responded_at": "2026-01-20T00:00:00Z"}\n{not json\n'
    )
    settings = make_settings(None, tmp_path / "data", drop_dir=drop)
    results = results_by_stream(settings, "first")
    assert (results["reviews"].records, results["reviews"].quarantined) == (4, 3)
    reasons = read_quarantine(settings.quarantine_dir, "filedrop", "reviews").sort("reason")
    assert reasons.get_column("reason").to_list() == [
        "malformed CSV row at line 3: Expected Number of Columns: 6 Found: 3",
        "missing natural key review_id",
        'wrong type: rating should be integer_text, got "x"; '
        'wrong type: reviewed_at should be iso, got "yesterday"',
    ]
    assert reasons.get_column("record").to_list()[0] == "b2,b@example.com,4"
    nps = read_quarantine(settings.quarantine_dir, "filedrop", "nps_responses")
    assert nps.select("record", "reason").rows() == [("{not json", "malformed JSON at line 2")]
    assert results["nps_responses"].records == 3


def test_a_file_missing_a_required_column_fails_the_stream(drop: Path, tmp_path: Path):
    (drop / "reviews" / "zz-no-date.csv").write_text(
        "review_id,email,rating,title,product_id\nz1,a@example.com,5,Fine,p1\n"
    )
    settings = make_settings(None, tmp_path / "data", drop_dir=drop)
    with pytest.raises(SchemaDriftError) as caught:
        run(settings, "filedrop")
    message = str(caught.value)
    assert "zz-no-date.csv" in message and "reviewed_at" in message
    # the window is not complete; the good file before it is remembered as landed
    cursor = read_cursor(settings.state_dir, "filedrop", "reviews")
    assert cursor.value is None
    assert [item["name"] for item in cursor.files] == ["reviews-2026-01.csv"]


def test_composite_keys_and_unknown_columns(tmp_path: Path):
    drop = tmp_path / "drop"
    (drop / "marketing_spend").mkdir(parents=True)
    (drop / "marketing_spend" / "spend.csv").write_text(
        "spend_date,channel,source,medium,campaign,spend,currency,owner\n"
        "2026-01-01,Paid Search,google,cpc,brand,120.50,EUR,ann\n"
    )
    settings = make_settings(None, tmp_path / "data", drop_dir=drop)
    results = results_by_stream(settings, "first")
    assert results["marketing_spend"].unknown_fields == {"owner": 1}
    frame = landed(settings, "filedrop", "marketing_spend")
    assert frame.get_column("record_id").to_list() == ["2026-01-01:Paid Search:brand"]
    assert frame.get_column("_unknown_fields").to_list() == [["owner"]]
