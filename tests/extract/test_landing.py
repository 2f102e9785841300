import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from devkit.vendor_dataset import land_vendor_dataset
from pipelines.extract.landing import (
    LANDING_SCHEMA,
    QUARANTINE_SCHEMA,
    SCHEMA_FILE,
    StreamWriter,
    ValidatedPage,
    deduplicate,
    ensure_landing_layout,
    read_landing,
    read_quarantine,
    validate_records,
)
from pipelines.extract.streams import STREAMS, stream_spec, streams_of

NOW = datetime(2026, 2, 1, 3, 0, tzinfo=UTC)


def validate(source: str, stream: str, texts: list[str]):
    return validate_records(
        stream_spec(source, stream), pl.Series(texts), run_id="run-1", extracted_at=NOW
    )


def test_registry_covers_every_contract_stream():
    assert streams_of("zendesk") == ("tickets", "ticket_metrics", "users", "satisfaction_ratings")
    assert len(streams_of("filedrop")) == 11
    assert len(STREAMS) == 13 + 11
    assert stream_spec("mailchimp", "sent_to").key_fields == ("campaign_id", "email_id")


def test_valid_records_land_with_key_version_hash_and_unknown_fields():
    page = validate(
        "shopify",
        "orders",
        [
            '{"id": 7, "created_at": "2026-01-01T00:00:00Z", '
            '"updated_at": "2026-03-04T10:11:12-05:00", "brand_new": 1}'
        ],
    )
    expected = pl.DataFrame(
        {
            "_source": ["shopify"],
            "_stream": ["orders"],
            "_run_id": ["run-1"],
            "_extracted_at": [NOW],
            "_record_hash": [""],
            "_unknown_fields": [["brand_new"]],
            "record_id": ["7"],
            "record_updated_at": [datetime(2026, 3, 4, 15, 11, 12, tzinfo=UTC)],
            "record": [
                '{"id": 7, "created_at": "2026-01-01T00:00:00Z", '
                '"updated_at": "2026-03-04T10:11:12-05:00", "brand_new": 1}'
            ],
        },
        schema=LANDING_SCHEMA,
    )
    # validate_records keeps the text it is given (connectors hand it minified text) and
    # hashes it as given
    text = expected.get_column("record").item().encode()
    expected = expected.with_columns(_record_hash=pl.lit(hashlib.sha256(text).hexdigest()))
    assert_frame_equal(page.landing, expected)
    assert page.quarantine.height == 0 and page.missing_required == ()


def test_contract_breaches_go_to_quarantine_with_reasons():
    page = validate(
        "matomo",
        "visits",
        [
            '{"idVisit":1,"visitorId":"a","lastActionTimestamp":1767261600,"actionDetails":[]}',
            '{"idVisit":null,"visitorId":"a","lastActionTimestamp":1767261600,"actionDetails":[]}',
            '{"idVisit":3,"visitorId":"a","lastActionTimestamp":"soon","actionDetails":[]}',
            '{"idVisit":"4","visitorId":"a","lastActionTimestamp":1767261600,"actionDetails":{}}',
            '{"idVisit":5,"lastActionTimestamp":1767261600,"actionDetails":[]}',
            "[1, 2]",
        ],
    )
    assert page.landing.get_column("record_id").to_list() == ["1"]
    assert page.landing.get_column("record_updated_at").to_list() == [
        datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    ]
    assert page.quarantine.columns == list(QUARANTINE_SCHEMA)
    assert page.quarantine.get_column("reason").to_list() == [
        "missing natural key idVisit",
        'unparsable timestamp lastActionTimestamp: "soon"',
        "wrong type: actionDetails should be array, got {}",
        "missing required field visitorId",
        "record is not a JSON object",
    ]


def test_matomo_numbers_may_come_as_strings_and_only_non_numbers_are_quarantined():
    visit = (
        '{{"idVisit":{id},"idSite":"1","visitorId":"{visitor}","lastActionTimestamp":{last},'
        '"visitDuration":{duration},"actions":{actions},"visitCount":" 2 ","actionDetails":{details}}}'
    )
    good_details = (
        '[{"type":"action","timestamp":"1767261500","timeSpent":"37"},'
        '{"type":"search","timestamp":1767261550,"siteSearchCount":"4"},'
        '{"type":"ecommerceOrder","timestamp":1767261600,"revenue":"49.90","items":"2"},'
        '{"type":"action","timestamp":1767261600,"timeSpent":"","generationTimeMilliseconds":null}]'
    )
    page = validate(
        "matomo",
        "visits",
        [
            visit.format(id='"12"', visitor="abcdef0123456789", last='"1767261600"',
                         duration='"61"', actions='"3"', details=good_details),
            visit.format(id=13, visitor="abcdef0123456789", last=1767261600, duration=61.0,
                         actions='""', details="[]"),
            visit.format(id=14, visitor="a", last=1767261600, duration='"61s"', actions='"1.5"',
                         details='[{"type":"action","timestamp":"abc"},{"type":"action"},5,'
                         '{"type":"event","timestamp":1,"eventValue":"x"},{"timestamp":"y"}]'),
            visit.format(id=15, visitor="a", last=1767261600, duration='"nan"', actions=1,
                         details="[]"),
        ],
    )  # fmt: skip
    assert page.landing.get_column("record_id").to_list() == ["12", "13"]
    assert (
        page.landing.get_column("record_updated_at").to_list()
        == [datetime(2026, 1, 1, 10, 0, tzinfo=UTC)] * 2
    )
    assert page.quarantine.get_column("reason").to_list() == [
        'wrong type: visitDuration should be numeric, got "61s"; '
        'wrong type: actions should be integral, got "1.5"; '
        "actionDetails[3] has no type (2 items); actionDetails[2] has no timestamp (2 items); "
        "actionDetails[1] timestamp should be unix, got abc (2 items); "
        "actionDetails[4] eventValue should be numeric, got x",
        'wrong type: visitDuration should be numeric, got "nan"',
    ]


def test_a_matomo_visit_without_a_visitor_id_is_quarantined_with_its_reason():
    details = '"lastActionTimestamp":1767261600,"actionDetails":[]'
    page = validate(
        "matomo",
        "visits",
        [
            f'{{"idVisit":1,"visitorId":"abcdef0123456789",{details}}}',
            f'{{"idVisit":2,"visitorId":null,{details}}}',
            f'{{"idVisit":3,"visitorId":"  ",{details}}}',
            f'{{"idVisit":4,{details}}}',
        ],
    )
    assert page.landing.get_column("record_id").to_list() == ["1"]
    assert page.quarantine.get_column("reason").to_list() == [
        "missing visitorId (null or blank)",
        "missing visitorId (null or blank)",
        "missing required field visitorId",
    ]


def test_required_field_missing_from_whole_page_is_reported_as_drift():
    page = validate(
        "zendesk",
        "users",
        ['{"id": 1, "name": "a"}', '{"id": 2, "name": "b"}'],
    )
    assert page.missing_required == ("updated_at",)


def test_layout_writer_and_reader_round_trip(tmp_path: Path):
    landing, quarantine = tmp_path / "landing", tmp_path / "quarantine"
    ensure_landing_layout(landing)
    schema_file = landing / "zendesk" / "users" / SCHEMA_FILE
    assert pl.read_parquet(schema_file).schema == LANDING_SCHEMA
    assert read_landing(landing, "zendesk", "users").height == 0

    writer = StreamWriter(landing, quarantine, "zendesk", "users", "run-1", date(2026, 2, 1))
    good = '{"id":1,"updated_at":"2026-01-02T00:00:00Z"}'
    writer.add(validate("zendesk", "users", [good, good, '{"id":"x","updated_at":"x"}']))
    writer.flush()
    writer.add(validate("zendesk", "users", ['{"id":1,"updated_at":"2026-01-05T00:00:00Z"}']))
    writer.flush()
    assert [Path(name).name for name in writer.files] == [
        "run-1-000001.parquet",
        "run-1-000002.parquet",
    ]
    assert (writer.landed, writer.quarantined, writer.duplicates()) == (3, 1, 1)
    landed = read_landing(landing, "zendesk", "users")
    assert landed.schema == LANDING_SCHEMA and landed.height == 3
    assert read_quarantine(quarantine, "zendesk", "users").height == 1
    latest = deduplicate(landed)
    assert latest.get_column("record_updated_at").to_list() == [datetime(2026, 1, 5, tzinfo=UTC)]
    assert not list(landing.glob("**/*.tmp"))


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    from tests.extract.vendor_fixture import build_dataset

    return build_dataset(tmp_path / "dataset")


def test_land_vendor_dataset_lands_the_served_versions(dataset: Path, tmp_path: Path):
    result = land_vendor_dataset(dataset, tmp_path / "landing", tmp_path / "quarantine", "run-1")
    counts = {name: item["records"] for name, item in result["streams"].items()}
    assert counts["matomo/visits"] == 31  # 30 visits, one duplicate row served twice
    assert counts["mailchimp/members"] == 12  # member 3: only its latest version
    assert counts["shopify/orders"] == 20
    assert counts["zendesk/ticket_metrics"] == 8
    assert counts["filedrop/reviews"] == 3 and counts["filedrop/nps_responses"] == 2
    members = read_landing(tmp_path / "landing", "mailchimp", "members")
    member3 = members.filter(pl.col("record_id") == "hash0003")
    assert member3.get_column("record").str.json_path_match("$.status").to_list() == [
        "unsubscribed"
    ]
    early = land_vendor_dataset(
        dataset,
        tmp_path / "early",
        tmp_path / "early_q",
        "run-2",
        as_of=datetime(2026, 1, 10, tzinfo=UTC),
    )
    assert early["streams"]["mailchimp/members"]["records"] == 9


def _users_page(first: int, count: int) -> ValidatedPage:
    return validate(
        "zendesk",
        "users",
        [f'{{"id":{n},"updated_at":"2026-01-02T00:00:00Z"}}' for n in range(first, first + count)],
    )


def test_the_writer_holds_at_most_one_row_group_and_lands_pages_as_row_groups(tmp_path: Path):
    """Memory stays flat: each page goes to a row group of the open (hidden) file as soon as
    a row group is full; nothing is visible before the stream ends."""
    landing, quarantine = tmp_path / "landing", tmp_path / "quarantine"
    writer = StreamWriter(
        landing, quarantine, "zendesk", "users", "run-1", date(2026, 2, 1), row_group_rows=10
    )
    buffered = []
    for page in range(25):
        writer.add(_users_page(page * 10, 10))
        buffered.append(writer.buffered_rows)
        assert not list(landing.glob("**/*.parquet"))  # still a hidden temporary file
    assert max(buffered) == 0  # a full page is written at once, never kept
    writer.add(_users_page(1000, 4))
    assert writer.buffered_rows == 4  # a partial row group waits for the next page
    writer.flush()
    (path,) = [Path(name) for name in writer.files]
    metadata = pq.ParquetFile(path).metadata
    assert (metadata.num_row_groups, metadata.num_rows) == (26, 254)
    assert read_landing(landing, "zendesk", "users").height == 254
    assert not list(landing.glob("**/*.tmp"))


def test_a_file_is_closed_and_renamed_when_it_reaches_file_rows(tmp_path: Path):
    writer = StreamWriter(
        tmp_path / "l", tmp_path / "q", "zendesk", "users", "run-1", date(2026, 2, 1),
        row_group_rows=10, file_rows=30,
    )  # fmt: skip
    for page in range(7):
        writer.add(_users_page(page * 10, 10))
    assert [Path(name).name for name in writer.files] == [
        "run-1-000001.parquet",
        "run-1-000002.parquet",
    ]
    writer.flush()
    assert writer.landed == 70 and len(writer.files) == 3


def test_an_aborted_stream_leaves_nothing_visible(tmp_path: Path):
    landing = tmp_path / "landing"
    writer = StreamWriter(
        landing, tmp_path / "q", "zendesk", "users", "run-1", date(2026, 2, 1), row_group_rows=5
    )
    writer.add(_users_page(0, 12))
    assert list(landing.glob("**/.part-*.tmp"))
    writer.abort()
    assert not list(landing.glob("**/*.parquet")) and not list(landing.glob("**/*.tmp"))
    assert writer.files == [] and writer.landed == 0
