"""Bad input through whole nights (issue 18, item 6): the cases of
tests/extract/test_bad_input.py, served together in one night by the sandbox vendor APIs (each
API case applied to a real record of its stream under a new id) and dropped as files. That
night the quarantine gate stops the publish with one clear line naming the bad values, and the
published warehouse stays as it was; the next night (the same window fetched again, as the
lookback does) publishes with every value that lands, and no previously published row is lost.
One shared run of each night keeps this fast; the per-case assertions are the unit tests'."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from devkit.vendor_dataset import dataset_end
from pipelines.extract.landing import read_landing, read_quarantine
from tests.e2e.conftest import pipeline
from tests.extract.test_bad_input import _ABSENT, API_CASES, DROP_CASES, LANDS

pytestmark = pytest.mark.e2e

NIGHT = datetime(2026, 9, 30, 19, 0, tzinfo=UTC)
KEY = {"matomo": "idVisit", "mailchimp": "id", "shopify": "id", "zendesk": "id"}
VERSION = {"matomo": "lastActionTimestamp", "mailchimp": "last_changed"}
TEMPLATE = {
    ("matomo", "visits"): {},
    ("mailchimp", "members"): {"status": "subscribed"},
    ("shopify", "orders"): {"financial_status": "paid", "test": False},
    ("zendesk", "tickets"): {"status": "closed"},
}


# changing one amount of a real order breaks Shopify's arithmetic, a blocking business check
# (tests/e2e/test_nightly.py): these two land in the unit tests only
ARITHMETIC = {"money JSON number", "money a largest amount"}


def _template(run, source: str, stream: str, **match) -> dict:
    """The latest version of the last record of a vendor stream matching `match`."""
    frame = pl.read_parquet(run.dataset / "vendor" / source / f"{stream}.parquet")
    latest = dict(frame.sort("updated_at").select("record_id", "record").iter_rows())
    for text in reversed(list(latest.values())):
        record = json.loads(text)
        if all(record.get(key) == value for key, value in match.items()):
            return record
    raise AssertionError(f"no {source}/{stream} record matching {match}")


def _served_cases(run) -> dict[str, tuple[str, str, str, dict]]:
    """Every API case built from a dict, on a real record of its stream: name -> (source,
    stream, served record id, record). Cases whose text JSON cannot express from a dict (a
    lone surrogate: see the report; a repeated field) are the unit tests' alone."""
    served = {}
    for index, (name, case) in enumerate(API_CASES.items()):
        if case.text is not None or name in ARITHMETIC:
            continue
        template = _template(run, case.source, case.stream, **TEMPLATE[(case.source, case.stream)])
        moment = NIGHT + timedelta(minutes=index)
        key = KEY[case.source]
        new_id = (
            990_000 + index if case.source in ("matomo", "shopify", "zendesk") else f"bad{index}"
        )
        record = {**template, key: new_id}
        if case.source == "matomo":
            record["lastActionTimestamp"] = int(moment.timestamp())
            record["actionDetails"] = [
                {**action, "timestamp": int(moment.timestamp())}
                for action in record.get("actionDetails") or []
            ][:2]
        elif case.source == "mailchimp":
            record["last_changed"] = moment.isoformat()
        else:
            record["updated_at"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        record.update(case.changes)
        record = {k: v for k, v in record.items() if v is not _ABSENT}
        record_id = str(record.get(key) or f"absent-{index}")
        run.sandbox.upsert(case.source, case.stream, record, updated_at=moment, record_id=record_id)
        served[name] = (case.source, case.stream, record_id, record)
    return served


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    with pipeline(tmp_path_factory.mktemp("badinput")) as run:
        assert run.demo_exit_code == 0
        run.sandbox.set_clock(max(dataset_end(run.dataset), NIGHT + timedelta(days=1)))
        before = _published(run)
        digest = run.digest()
        served = _served_cases(run)
        drop = run.dataset / "drop" / "orders"
        drop.mkdir(parents=True, exist_ok=True)
        for name, (content, _) in DROP_CASES.items():
            (drop / name).write_bytes(content)
        bad_night = run.run()
        bad_report = bad_night.report  # latest.json: read before the next night replaces it
        after_bad_night = run.digest()
        next_night = run.run()
        yield (
            run,
            before,
            digest,
            served,
            (bad_night.success, bad_report, after_bad_night),
            next_night,
        )


def _published(run) -> dict[str, pl.DataFrame]:
    return {
        "orders": run.query("select order_id, total_price from marts.fct_orders"),
        "touchpoints": run.query("select stream, record_id from marts.fct_touchpoints"),
        "tickets": run.query("select ticket_id from marts.fct_support_tickets"),
        "persons": run.query("select count(*) as persons from marts.dim_persons"),
    }


def test_the_bad_night_stops_at_the_quarantine_gate_and_keeps_the_warehouse(nights):
    _, _, digest, _, (success, report, after_bad_night), _ = nights
    assert not success and report["published"] is False
    reason = report["publish"]["reason"]
    assert reason.startswith("quarantine_gate: "), reason
    assert "bad value: " in reason or "wrong type: " in reason
    assert "\n" not in reason
    gates = {f["asset"] for f in report["checks"]["failures"] if f["check"] == "quarantine_gate"}
    assert {"shopify/orders", "zendesk/tickets", "filedrop/orders"} <= gates, gates
    # nothing after extraction failed on a value: only the gate blocked
    assert {f["check"] for f in report["checks"]["failures"]} == {"quarantine_gate"}
    assert after_bad_night == digest


def _reasons(quarantine: pl.DataFrame, key: str) -> dict[str, set[str]]:
    """Quarantine reasons by the record's key (as text; records without one under None)."""
    reasons: dict[str, set[str]] = {}
    for record, reason in quarantine.select("record", "reason").iter_rows():
        try:
            value = json.loads(record).get(key)
        except (ValueError, AttributeError):
            value = None
        reasons.setdefault(None if value in (None, "") else str(value), set()).add(reason)
    return reasons


def test_each_bad_record_is_quarantined_with_its_reason_and_each_good_one_lands(nights):
    run, _, _, served, _, _ = nights
    settings = run.settings
    for name, (source, stream, record_id, record) in served.items():
        expected = API_CASES[name].expected
        landed = set(read_landing(settings.landing_dir, source, stream)["record_id"])
        reasons = _reasons(read_quarantine(settings.quarantine_dir, source, stream), KEY[source])
        has_key = record.get(KEY[source]) not in (None, "")
        if expected is LANDS:
            assert record_id in landed, name
            assert record_id not in reasons, (name, reasons.get(record_id))
        elif has_key:
            assert record_id not in landed, name
            assert reasons.get(record_id) == {expected}, (name, reasons.get(record_id))
        else:
            assert expected in reasons.get(None, set()), (name, reasons.get(None))


def test_the_next_night_publishes_and_loses_no_published_row(nights):
    run, before, digest, served, _, next_night = nights
    report = next_night.report
    assert next_night.success and report["published"], next_night.report_path.with_suffix(
        ".md"
    ).read_text()[-3000:]
    assert run.digest() != digest
    after = _published(run)
    lost = before["orders"].join(after["orders"], on=["order_id", "total_price"], how="anti")
    assert lost.height == 0, lost
    for table in ("touchpoints", "tickets"):
        assert before[table].join(after[table], on=before[table].columns, how="anti").height == 0
    assert after["persons"].item() >= before["persons"].item()
    # what lands is published verbatim and inert; what was quarantined is not there
    orders = set(after["orders"]["order_id"])
    tickets = set(after["tickets"]["ticket_id"])
    for name, (source, _, record_id, _) in served.items():
        published = {"shopify": orders, "zendesk": tickets}.get(source)
        if published is not None:
            assert (record_id in published) == (API_CASES[name].expected is LANDS), name
    drops = {f"ok-{name[0]}" for name in DROP_CASES if name != "l-latin1.csv"} | {"d6"}
    assert drops <= orders
    assert not {"d1", "d2", "d3", "d4", "d8", "d9", "d10"} & orders
    injected = run.query(
        "select count(*) from marts.fct_orders where order_id = "
        f"'{served['SQL injection in every text field'][2]}'"
    ).item()
    assert injected == 1
