"""Failed-check samples carry no raw personal data (issue 18, item 2): pseudonymised exactly
like the published identity tables with a key, masked without one."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import polars as pl

from pipelines.identity.rules import load_rules
from pipelines.identity.stitch import stitch
from pipelines.privacy.samples import SampleGuard, column_words, mask
from pipelines.settings import Secret

KEY = Secret("k7Qm2vX9pL4sR8tW1yZ6bN3cF5hJ0dGe-Ua_Ti")
ROW = {
    "id": "c1",
    "email": " Ann.Doe+promo@GMail.com",
    "phone": "+49 (170) 123-4567",
    "first_name": "Ann",
    "state": "weird",
    "note": "call ann.doe@gmail.com or bob%40shop.test today",
    "orders_count": 3,
}


def published_map(key: Secret | None) -> dict[str, str]:
    """identifier_kind:raw -> the value identity_map publishes for it (the real stitcher)."""
    evidence = pl.DataFrame(
        {
            "source": ["shopify"] * 3,
            "stream": ["customers"] * 3,
            "record_id": ["c1"] * 3,
            "observed_at": [datetime(2026, 1, 1)] * 3,
            "rule": ["shop_customer"] * 3,
            "identifier_kind": ["shop_customer_id", "email", "phone"],
            "identifier_value": ["c1", ROW["email"], ROW["phone"]],
            "is_anchor": [True, False, False],
        }
    )
    result = stitch(
        evidence, rules=load_rules(), run_id="r", run_at=datetime(2026, 1, 2), pseudonymize_key=key
    )
    frame = result.tables["identity_map"]
    return dict(zip(frame["identifier_kind"], frame["identifier_value"], strict=True))


def test_with_a_key_samples_hold_exactly_the_published_values():
    published = published_map(KEY)
    [row] = SampleGuard(KEY).protect_rows([ROW])
    assert row == {
        "id": "c1",
        "email": published["email"],
        "phone": published["phone"],
        "first_name": "***",
        "state": "weird",
        "note": f"call {published['email']} or {SampleGuard(KEY).protect('bob@shop.test', 'email')}"
        " today",
        "orders_count": 3,
    }
    assert len(published["email"]) == 64
    # a value read from a pseudonymised table is not hashed twice
    assert SampleGuard(KEY).protect_rows([row]) == [row]


def test_without_a_key_samples_are_masked():
    [row] = SampleGuard(None).protect_rows([ROW])
    assert row == {
        "id": "c1",
        "email": "a***@gmail.com",
        "phone": "***67",
        "first_name": "***",
        "state": "weird",
        "note": "call a***@gmail.com or b***@shop.test today",
        "orders_count": 3,
    }
    assert SampleGuard(None).protect_rows([row]) == [row]  # masking twice changes nothing


def test_identity_table_rows_are_protected_by_their_kind_columns():
    rows = [
        {"identifier_kind": "email", "identifier_value": "ann@shop.test", "person_id": "p_1"},
        {"identifier_kind": "web_visitor_id", "identifier_value": "5f2a9c0d", "person_id": "p_1"},
        {"left_kind": "phone", "left_value": "0170 1234567", "right_kind": "email",
         "right_value": "x@shop.test"},
    ]  # fmt: skip
    protected = SampleGuard(None).protect_rows(rows)
    assert protected[0]["identifier_value"] == "a***@shop.test"
    assert protected[1]["identifier_value"] == "5f2a9c0d"  # not a pseudonymised kind
    assert (protected[2]["left_value"], protected[2]["right_value"]) == ("***67", "x***@shop.test")


def test_columns_are_recognised_by_their_words():
    guard = SampleGuard(None)
    named = {
        "email": "email", "contact_email": "email", "customer.email": "email",
        "emailAddress": "email", "email__text": "email", "requester_email": "email",
        "phone_number": "phone", "customer_phone": "phone",
        "email_subscriber_id": None, "email_id": None, "campaign_name": None,
    }  # fmt: skip
    assert {name: guard.kind_of_column(name) for name in named} == named
    assert column_words("customer.emailAddress") == "customer_email_address"
    assert guard.is_masked_column("LNAME") and guard.is_masked_column("customer.first_name")
    assert not guard.is_masked_column("campaign_name")


def test_unexpected_value_lists_and_messages():
    guard = SampleGuard(KEY)
    values = guard.protect(["Ann@Shop.test", "not an email"], column="email")
    assert values[0] == guard.protect("ann@shop.test", column="email")
    assert values[1] != "not an email" and len(values[1]) == 64
    message = guard.protect("Conversion Error: could not convert 'ann@shop.test' to INT")
    assert "ann@shop.test" not in message and values[0] in message


def test_masks():
    assert mask("email", " Ann@Example.COM ") == "a***@example.com"
    assert mask("email", "nonsense") == "n***"
    assert mask("phone", "+49 170 1234567") == "***67"
    assert mask("phone", "12") == "***"


def test_data_docs_and_outcomes_hold_the_published_values_only(tmp_path):
    """Every file the quality runner writes (our pages, GX's pages, outcome JSON) for a check
    failing on e-mail values holds their pseudonyms, never the addresses."""
    from pipelines.quality.runner import QualityPaths, RunInfo, run_suites
    from tests.quality.conftest import expectation, make_suite

    suite = make_suite(
        [
            expectation(
                "expect_column_values_to_match_regex",
                "email_lower_case",
                column="email",
                regex=r"^[a-z@.]+$",
            )
        ],
        name="marts.fct_orders",
        asset=("fct_orders",),
    )
    emails = ["ann@x.com", "Bob.Smith@Example.com", "carl+promo@Shop.test"]
    frame = pd.DataFrame({"order_id": [1, 2, 3], "email": emails})
    paths = QualityPaths(tmp_path / "landing", tmp_path / "w.duckdb", tmp_path / "s.json",
                         tmp_path / "docs" / "gx")  # fmt: skip
    guard = SampleGuard(KEY)
    [outcome] = run_suites(
        [suite], paths, RunInfo(run_id="run-1"), frame_loader=lambda _: frame, guard=guard
    )
    expected = [guard.protect(email, column="email") for email in emails[1:]]
    assert [row["email"] for row in outcome.sample] == expected
    written = [page for page in paths.docs_dir.rglob("*") if page.is_file()]
    assert any(page.suffix == ".html" and "validations" in page.parts for page in written)
    for page in written:
        text = page.read_text(errors="replace").lower()
        for email in emails[1:]:
            assert email.lower() not in text, (page, email)
            assert email.split("@")[0].lower() not in text, (page, email)
    gx_pages = " ".join(p.read_text() for p in written if "validations" in p.parts)
    assert expected[0] in gx_pages


def test_the_run_report_protects_samples_errors_and_secrets(tmp_path):
    from pipelines.run_report import protect_report
    from pipelines.settings import Settings

    settings = Settings.from_env(
        {"JOURNEY_DATA_DIR": str(tmp_path), "JOURNEY_PSEUDONYMIZE_KEY": KEY.reveal(),
         "JOURNEY_FAILURE_WEBHOOK_URL": "https://hooks.chat.test/T0AB12CD3/B0XY98ZW7/tok3n-s3cret"}
    )  # fmt: skip
    dbt_failure = {
        "asset": "stg_shopify__customers",
        "check": "unique_stg_shopify__customers_email",
        "metadata": {"failed_rows": 2, "sample": [{"email": "Ann@Shop.test", "n_records": 2}]},
    }
    report = {
        "run_id": "r1",
        "landing": [{"source": "shopify", "stream": "customers", "unknown_fields": {"email": 3}}],
        "checks": {"passed": 1, "warned": 0, "failed": 1, "failures": [dbt_failure]},
        "errors": [{"step": "dbt_after_identity", "message": "could not cast 'bob@shop.test' "
                    "(posting to https://hooks.chat.test/T0AB12CD3/B0XY98ZW7/tok3n-s3cret)"}],
    }  # fmt: skip
    protected = protect_report(report, settings)
    guard = SampleGuard(KEY)
    sample = protected["checks"]["failures"][0]["metadata"]["sample"]
    assert sample == [{"email": guard.protect("ann@shop.test", "email"), "n_records": 2}]
    message = protected["errors"][0]["message"]
    assert message == f"could not cast '{guard.protect('bob@shop.test', 'email')}' (posting to ***)"
    assert protected["landing"] == report["landing"]  # counts are not personal data
