"""Trust end to end (issue 18, items 2 and 4): nights with every secret set — vendor
credentials, the pseudonymisation key, a webhook URL carrying its token — one of them failing
(a vendor that refuses the credentials and quotes them back, in base64 and URL-encoded too)
with a webhook that refuses the alert, and a check failing on a customer's row.

Afterwards every artefact of the runs is searched for every secret in every form, and the
artefacts a failed check writes (report, Data Docs, Dagster storage, the webhook message) for
the customer's raw e-mail address: the sample holds the published pseudonym instead.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from urllib.parse import quote, quote_plus

import dagster as dg
import duckdb
import polars as pl
import pytest

from pipelines.settings import PROJECT_ROOT, temporary_environment
from tests.e2e.conftest import pipeline, serve_version
from tests.privacy.conftest import FakeServer, echo_credentials

pytestmark = pytest.mark.e2e

KEY = "tRu5t-E2e_k3y.Zq8Wm1Xv6Nb0Lc7Hd4Pf9Sg2"
WEBHOOK_TOKEN = "whk7Tq2Zr9Xm4Lp1Vn8Bc3"
ZENDESK_EMAIL = "agent@shop.example"
ZENDESK_TOKEN = "zdT0ken-Q7w/Xe+R5t=Yu9"


def forms(secret: str, *users: str) -> set[str]:
    """The ways a secret can be written down (built here, not by the code under test)."""
    found = {secret, quote(secret, safe=""), quote_plus(secret)}
    for raw in [secret, *(f"{user}:{secret}" for user in users)]:
        encoded = base64.b64encode(raw.encode()).decode()
        found |= {encoded, encoded.rstrip("=")}
    return found


def searchable(path: Path) -> bytes:
    """A file's bytes, and for columnar files (compressed) the text of every value."""
    data = path.read_bytes()
    try:
        if path.suffix == ".parquet":
            return data + pl.read_parquet(path).write_csv().encode()
        if path.suffix == ".duckdb":
            with duckdb.connect(str(path), read_only=True) as con:
                tables = con.sql(
                    "select table_schema, table_name from information_schema.tables"
                ).fetchall()
                for schema, table in tables:
                    data += con.sql(f'select * from "{schema}"."{table}"').pl().write_csv().encode()
    except (duckdb.Error, pl.exceptions.PolarsError, OSError):
        pass  # an unreadable file is still searched as bytes
    return data


def hits(roots: list[Path], needles: set[str], extra: dict[str, str]) -> list[str]:
    """`file: needle` for every needle found in a file under `roots` or in an `extra` text."""
    texts = {name: text.encode() for name, text in extra.items()}
    for root in roots:
        for path in (p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]:
            texts[str(path)] = searchable(path)
    lowered = {name: data.lower() for name, data in texts.items()}
    return [
        f"{name}: {needle}"
        for name, data in lowered.items()
        for needle in needles
        if needle.lower().encode() in data
    ]


@pytest.fixture(scope="module")
def trust(tmp_path_factory):
    root = tmp_path_factory.mktemp("trust")
    webhook = FakeServer(lambda handler, body: (500, {"error": "no such hook"})).start()
    vendor = FakeServer(echo_credentials(ZENDESK_TOKEN)).start()
    url = f"{webhook.url}/services/T07TRUST1/B07TRUST2/{WEBHOOK_TOKEN}?token={WEBHOOK_TOKEN}"
    settings = {"JOURNEY_PSEUDONYMIZE_KEY": KEY, "JOURNEY_FAILURE_WEBHOOK_URL": url}
    try:
        with temporary_environment(settings), pipeline(root, persons=120, seed=31) as run:
            assert run.demo_exit_code == 0
            yield run, webhook, vendor, url
    finally:
        webhook.stop()
        vendor.stop()


@pytest.fixture(scope="module")
def failed_night(trust, tmp_path_factory):
    """A night whose Zendesk step fails and whose customers suite flags one customer."""
    run, webhook, vendor, _ = trust
    output = tmp_path_factory.mktemp("output") / "night.log"
    customer = next(
        c for c in map(json.loads, _customers(run)) if _published_emails(run, str(c["id"]))
    )
    serve_version(run, "shopify", "customers", {**customer, "state": "suspended_by_robot"}, 5)
    failing = {
        "ZENDESK_BASE_URL": vendor.url,
        "ZENDESK_EMAIL": ZENDESK_EMAIL,
        "ZENDESK_API_TOKEN": ZENDESK_TOKEN,
    }
    with temporary_environment(failing), captured_output(output):
        outcome = run.run()
    return run, webhook, outcome, customer, output.read_text(errors="replace")


def posted(webhook: FakeServer) -> str:
    """What the alert said (its bodies; the receiver's own URL naturally holds the token)."""
    return "\n".join(item["body"] for item in webhook.received)


@contextmanager
def captured_output(path: Path) -> Iterator[None]:
    """Everything written to standard output and error goes to `path` while the block runs:
    `sys.stdout`/`sys.stderr` (log handlers made meanwhile write there) and file descriptors 1
    and 2 (child processes such as dbt)."""
    sys.stdout.flush(), sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(path, "w", buffering=1) as sink:
        os.dup2(sink.fileno(), 1), os.dup2(sink.fileno(), 2)
        try:
            with redirect_stdout(sink), redirect_stderr(sink):
                yield
        finally:
            sink.flush()
            for descriptor, original in zip((1, 2), saved, strict=True):
                os.dup2(original, descriptor)
                os.close(original)


def _customers(run) -> list[str]:
    frame = pl.read_parquet(run.dataset / "vendor" / "shopify" / "customers.parquet")
    return frame.sort("updated_at", descending=True).unique("record_id", keep="first")["record"]


def _published_emails(run, customer_id: str) -> list[str]:
    return run.query(
        f"""select identifier_value from identity.identity_map
            where identifier_kind = 'email' and person_id in (
                select person_id from identity.identity_map
                where identifier_kind = 'shop_customer_id' and identifier_value = '{customer_id}')"""
    )["identifier_value"].to_list()


def test_the_night_fails_at_once_and_alerts(failed_night):
    _, webhook, outcome, _, _ = failed_night
    report = outcome.report
    assert not outcome.success and report["published"] is False
    assert any(error["step"] == "extract_zendesk" for error in report["errors"])
    events = dg.DagsterInstance.get().all_logs(report["run_id"])
    kinds = [event.dagster_event.event_type_value for event in events if event.dagster_event]
    assert "STEP_UP_FOR_RETRY" not in kinds  # refused credentials are not retried
    messages = [json.loads(item["body"]) for item in webhook.received]
    assert any(item.get("step") == "extract_zendesk" for item in messages), messages


def test_no_secret_in_any_form_in_any_artefact(trust, failed_night):
    run, webhook, outcome, _, output = failed_night
    _, _, _, url = trust
    sandbox = run.sandbox.credentials
    needles = (
        forms(KEY)
        | forms(WEBHOOK_TOKEN)
        | {url, url.split("?")[0], "T07TRUST1/B07TRUST2"}
        | forms(ZENDESK_TOKEN, f"{ZENDESK_EMAIL}/token")
        | forms(sandbox["zendesk_api_token"], f"{sandbox['zendesk_email']}/token")
        | forms(sandbox["mailchimp_api_key"], "journey-warehouse")
        | forms(sandbox["matomo_token"])
        | forms(sandbox["shopify_access_token"])
    )
    roots = [run.root / name for name in ("dagster_home", "warehouse", "data")]
    roots.append(PROJECT_ROOT / "dbt_project" / "logs")
    extra = {"stdout and stderr": output, "webhook": posted(webhook)}
    assert hits(roots, needles, extra) == []
    assert "***" in outcome.report_path.read_text()  # the vendor's quote was there, masked


def test_failed_check_samples_hold_the_published_pseudonym(failed_night):
    run, webhook, outcome, customer, output = failed_night
    report = outcome.report
    flagged = [
        item
        for item in report["checks"]["failures"] + report["checks"]["warnings"]
        if item["asset"] == "shopify/customers" and item["check"] == "state_known"
    ]
    assert flagged, report["checks"]
    [row] = [r for r in flagged[0]["metadata"]["sample"] if r.get("id") == str(customer["id"])]
    assert row["email"] in _published_emails(run, str(customer["id"]))
    assert len(row["email"]) == 64
    raw = customer["email"]
    needles = {raw, raw.strip(), raw.strip().lower(), quote(raw.strip(), safe="")}
    settings = run.settings
    roots = [settings.report_dir, settings.docs_dir / "gx", run.root / "dagster_home"]
    extra = {"stdout and stderr": output, "webhook": posted(webhook)}
    assert hits(roots, needles, extra) == []


def test_the_key_fingerprint_is_published_and_the_key_is_not(trust):
    run, *_ = trust
    [(fingerprint, kinds)] = run.query(
        "select key_fingerprint, pseudonymized_kinds from identity.identity_key_fingerprint"
    ).rows()
    assert fingerprint.startswith("hmac-sha256:") and kinds == "email,phone"
    emails = run.query(
        "select identifier_value from identity.identity_map where identifier_kind = 'email'"
    )["identifier_value"]
    assert emails.len() > 50 and emails.str.contains("@").sum() == 0
