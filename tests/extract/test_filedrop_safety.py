"""File drops against hostile or careless input (issue 18, item 7): encodings, line breaks
inside JSON strings, exact line numbers, symlinks, and files that must never land twice."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest

from pipelines.extract.cursors import read_cursor
from pipelines.extract.errors import SchemaDriftError
from pipelines.extract.landing import read_quarantine
from tests.extract.conftest import landed, make_settings, run

REVIEW_HEADER = "review_id,email,rating,title,reviewed_at,product_id\n"


def drop_folder(tmp_path: Path, stream: str = "reviews") -> Path:
    folder = tmp_path / "drop" / stream
    folder.mkdir(parents=True)
    return folder


def settings_for(tmp_path: Path):
    return make_settings(None, tmp_path / "data", drop_dir=tmp_path / "drop")


def result_of(settings, stream: str, run_id: str = "run-1"):
    return {r.stream: r for r in run(settings, "filedrop", run_id=run_id)}[stream]


def quarantined(settings, stream: str = "reviews") -> list[tuple[str, str]]:
    frame = read_quarantine(settings.quarantine_dir, "filedrop", stream)
    return sorted(frame.select("record", "reason").rows())


def titles(settings, stream: str = "reviews") -> list[str]:
    frame = landed(settings, "filedrop", stream).sort("record_id")
    return [json.loads(text)["title"] for text in frame["record"]]


# --- encodings ------------------------------------------------------------------------------


def test_an_undeclared_latin1_file_is_quarantined_with_a_reason_once(tmp_path: Path):
    folder = drop_folder(tmp_path)
    (folder / "a-good.csv").write_text(REVIEW_HEADER + "r1,a@shop.test,5,Fine,2026-01-10,p1\n")
    (folder / "b-latin1.csv").write_bytes(
        (REVIEW_HEADER + "r2,b@shop.test,4,Müller,2026-01-11,p1\n").encode("latin-1")
    )
    settings = settings_for(tmp_path)
    result = result_of(settings, "reviews")
    assert (result.records, result.quarantined) == (1, 1)
    [(record, reason)] = quarantined(settings)
    assert json.loads(record) == {"file": "b-latin1.csv", "line": 2}
    assert reason == (
        "file b-latin1.csv is not UTF-8 (byte 0xfc at line 2, column 19): declare its "
        "encoding in its name, e.g. b-latin1.latin-1.csv or b-latin1.cp1252.csv"
    )
    again = result_of(settings, "reviews", run_id="run-2")  # remembered by its content hash
    assert (again.records, again.quarantined) == (0, 0)
    assert len(quarantined(settings)) == 1


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("export.latin-1.csv", "latin-1"),
        ("export.cp1252.csv", "cp1252"),
        ("export.csv", "utf-16"),  # a byte-order mark says it
        ("export.csv", "utf-8-sig"),
    ],
)
def test_declared_or_marked_encodings_land_as_text(tmp_path: Path, name: str, encoding: str):
    title = "Müller – “großartig”" if encoding != "latin-1" else "Müller, großartig"
    text = REVIEW_HEADER + f'r1,a@shop.test,5,"{title}",2026-01-10,p1\r\n'
    (drop_folder(tmp_path) / name).write_bytes(text.encode(encoding))
    settings = settings_for(tmp_path)
    assert result_of(settings, "reviews").records == 1
    assert titles(settings) == [title]


def test_an_ndjson_file_in_latin1_is_quarantined_not_a_crash(tmp_path: Path):
    folder = drop_folder(tmp_path, "nps_responses")
    line = '{"response_id": "n1", "email": "a@shop.test", "score": 9, "comment": "très bien", '
    line += '"responded_at": "2026-01-15T08:00:00Z"}\n'
    (folder / "nps.jsonl").write_bytes(line.encode("latin-1"))
    settings = settings_for(tmp_path)
    result = result_of(settings, "nps_responses")
    assert (result.records, result.quarantined) == (0, 1)
    [(_, reason)] = quarantined(settings, "nps_responses")
    assert reason.startswith("file nps.jsonl is not UTF-8 (byte 0xe8 at line 1, column 73)")
    (folder / "nps.jsonl").rename(folder / "nps.latin-1.jsonl")
    assert result_of(settings, "nps_responses", run_id="run-2").records == 1
    record = landed(settings, "filedrop", "nps_responses")["record"].item()
    assert json.loads(record)["comment"] == "très bien"


# --- NDJSON lines and line numbers ----------------------------------------------------------


def test_unicode_line_separators_inside_json_strings_do_not_split_a_record(tmp_path: Path):
    folder = drop_folder(tmp_path, "nps_responses")
    comments = ["one\u2028two", "three\u2029four", "five\u0085six", "seven\x0bx\x0cy\x1cz"]
    base = {"email": "a@shop.test", "score": 9, "responded_at": "2026-01-15T08:00:00Z"}
    lines = [
        json.dumps({"response_id": f"n{i}", **base, "comment": comment}, ensure_ascii=False)
        for i, comment in enumerate(comments[:3])
    ]
    # a raw control character inside a JSON string is invalid JSON: that line is quarantined
    lines.append('{"response_id": "n3", "comment": "' + comments[3] + '"}')
    (folder / "nps.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = settings_for(tmp_path)
    result = result_of(settings, "nps_responses")
    assert (result.records, result.quarantined) == (3, 1)
    frame = landed(settings, "filedrop", "nps_responses").sort("record_id")
    assert [json.loads(text)["comment"] for text in frame["record"]] == comments[:3]
    [(record, reason)] = quarantined(settings, "nps_responses")
    assert (record, reason) == (lines[3], "malformed JSON at line 4")


def test_ndjson_line_numbers_count_blank_lines_and_crlf(tmp_path: Path):
    folder = drop_folder(tmp_path, "nps_responses")
    good = '{"response_id": "n1", "email": "a@shop.test", "score": 9, "responded_at": "2026-01-15"}'
    (folder / "nps.ndjson").write_text(f"{good}\r\n\r\n   \n{{broken\r\n\n[1, 2]\n", newline="")
    settings = settings_for(tmp_path)
    assert result_of(settings, "nps_responses").records == 1
    assert quarantined(settings, "nps_responses") == [
        ("[1,2]", "record is not a JSON object"),
        ("{broken", "malformed JSON at line 4"),
    ]


def test_csv_line_numbers_are_physical_lines(tmp_path: Path):
    (drop_folder(tmp_path) / "reviews.csv").write_text(
        REVIEW_HEADER
        + "r1,a@shop.test,5,Fine,2026-01-10,p1\n"
        + "\n\n"
        + 'r2,b@shop.test,4,"two\nlines",2026-01-11,p1\n'
        + "r3,c@shop.test,4\n"
        + "\r\n"
        + "r4,d@shop.test,4,x,2026-01-11,p1,extra\n"
    )
    settings = settings_for(tmp_path)
    assert result_of(settings, "reviews").records == 2
    assert quarantined(settings) == [
        ("r3,c@shop.test,4", "malformed CSV row at line 7: Expected Number of Columns: 6 Found: 3"),
        (
            "r4,d@shop.test,4,x,2026-01-11,p1,extra",
            "malformed CSV row at line 9: Expected Number of Columns: 6 Found: 7",
        ),
    ]


# --- symlinks and paths outside the drop folder -----------------------------------------------


def test_symlinks_are_refused_without_reading_their_target(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "passwords.csv"
    secret.write_text("root:supersecret-hash:0:0\nadmin:another-secret\n")
    folder = drop_folder(tmp_path)
    (folder / "linked.csv").symlink_to(secret)
    (folder / "real.csv").write_text(REVIEW_HEADER + "r1,a@shop.test,5,Fine,2026-01-10,p1\n")
    elsewhere = outside / "nps"
    elsewhere.mkdir()
    (elsewhere / "nps.ndjson").write_text('{"response_id": "n1", "note": "supersecret"}\n')
    (tmp_path / "drop" / "nps_responses").symlink_to(elsewhere, target_is_directory=True)
    settings = settings_for(tmp_path)
    results = {r.stream: r for r in run(settings, "filedrop")}
    assert (results["reviews"].records, results["reviews"].quarantined) == (1, 1)
    assert quarantined(settings) == [
        (
            '{"file": "linked.csv"}',
            "file linked.csv is a symbolic link; file drops must be regular files inside "
            "the drop folder: copy the file in instead",
        )
    ]
    assert results["nps_responses"].quarantined == 1
    assert quarantined(settings, "nps_responses") == [
        (
            '{"file": "nps_responses"}',
            "folder nps_responses is a symbolic link; file drops must be regular files inside "
            "the drop folder: copy the files in instead",
        )
    ]
    for root, _, files in os.walk(tmp_path / "data"):  # nothing of the targets was read
        for name in files:
            assert b"supersecret" not in (Path(root) / name).read_bytes()
    # reported once, not every night
    again = {r.stream: r for r in run(settings, "filedrop", run_id="run-2")}
    assert again["reviews"].quarantined == 0 and again["nps_responses"].quarantined == 0


def test_an_error_about_a_file_never_quotes_a_linked_file(tmp_path: Path):
    outside = tmp_path / "outside.csv"
    outside.write_text("supersecret,header\n1,2\n")
    (drop_folder(tmp_path) / "x.csv").symlink_to(outside)
    settings = settings_for(tmp_path)
    result = result_of(settings, "reviews")  # no SchemaDriftError quoting the header
    assert result.quarantined == 1 and "supersecret" not in str(quarantined(settings))


# --- landed once, by content ------------------------------------------------------------------


def test_the_same_content_under_another_name_is_not_landed_again(tmp_path: Path):
    folder = drop_folder(tmp_path)
    content = REVIEW_HEADER + "r1,a@shop.test,5,Fine,2026-01-10,p1\n"
    (folder / "reviews-monday.csv").write_text(content)
    settings = settings_for(tmp_path)
    assert result_of(settings, "reviews").records == 1
    (folder / "reviews-monday.csv").rename(folder / "reviews-copy.csv")
    (folder / "reviews-tuesday.csv").write_text(content)
    assert result_of(settings, "reviews", run_id="run-2").records == 0
    assert landed(settings, "filedrop", "reviews").height == 1


def test_files_landed_before_a_failure_are_not_landed_again_on_retry(tmp_path: Path):
    folder = drop_folder(tmp_path)
    (folder / "a.csv").write_text(REVIEW_HEADER + "r1,a@shop.test,5,Fine,2026-01-10,p1\n")
    (folder / "b.csv").write_text(REVIEW_HEADER + "r2,b@shop.test,5,Fine,2026-01-10,p1\n")
    (folder / "c-broken.csv").write_text("review_id,email\nr3,c@shop.test\n")
    settings = settings_for(tmp_path)
    for attempt in range(3):  # the step retry policy's attempts
        with pytest.raises(SchemaDriftError, match=r"c-broken\.csv"):
            run(settings, "filedrop", run_id="run-1")
        assert landed(settings, "filedrop", "reviews").height == 2, attempt
    cursor = read_cursor(settings.state_dir, "filedrop", "reviews")
    assert sorted(item["name"] for item in cursor.files) == ["a.csv", "b.csv"]
    (folder / "c-broken.csv").unlink()
    assert result_of(settings, "reviews", run_id="run-2").records == 0
    frame = landed(settings, "filedrop", "reviews")
    assert frame["record_id"].sort().to_list() == ["r1", "r2"]
    assert frame.filter(pl.col("_run_id") != "run-1").height == 0
