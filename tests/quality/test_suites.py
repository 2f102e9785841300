"""The suites in `expectations/`: every landed stream is covered, the contract's keys and
timestamps are blocking checks, the format is enforced, and reading them stays GX-free."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipelines.extract.streams import STREAMS
from pipelines.quality.suites import (
    SEVERITIES,
    LandingFrame,
    SuiteError,
    list_checks,
    load_suites,
    parse_suite,
)
from pipelines.settings import PROJECT_ROOT
from tests.quality.conftest import expectation

SUITES = load_suites()
LANDING = {suite.asset: suite for suite in SUITES if isinstance(suite.frame, LandingFrame)}


def test_every_landed_stream_has_exactly_one_suite():
    assert sorted(LANDING) == sorted(STREAMS)
    for (source, stream), suite in LANDING.items():
        assert suite.name == f"landing.{source}.{stream}"
        assert suite.path.relative_to(PROJECT_ROOT).as_posix() == (
            f"expectations/landing/{source}/{stream}.json"
        )


@pytest.mark.parametrize("asset", sorted(STREAMS), ids="/".join)
def test_contract_keys_and_timestamps_are_blocking(asset):
    suite = LANDING[asset]
    spec = STREAMS[asset]
    checks = {item.check: item for item in suite.expectations}
    for key in spec.key_fields:
        assert checks[f"{key}_not_null"].blocking, key
    timestamps = [f.name for f in suite.frame.fields if f.type.startswith("timestamp")]
    assert timestamps, "every stream has at least one timestamp to check"
    if spec.version_field:
        assert spec.version_field in timestamps
    for name in timestamps:
        assert checks[f"{name}_parseable"].blocking
        assert checks[f"{name}_in_range"].blocking
        assert checks[f"{name}_in_range"].kwargs["max_value"] == {
            "$PARAMETER": "now_utc + timedelta(days=1)"
        }


def test_vendor_streams_have_row_count_bounds_and_file_drops_do_not():
    for (source, _stream), suite in LANDING.items():
        bounded = {s.check: s for s in suite.expectations if s.row_count_bounds}
        if source == "filedrop":
            assert not bounded
        else:
            assert bounded["row_count_vs_previous_run"].severity == "warning"
            assert bounded["row_count_not_collapsed"].severity == "blocking"


def test_list_checks_is_the_catalogue():
    checks = list_checks()
    assert len(checks) == sum(len(suite.expectations) for suite in SUITES)
    assert {item["severity"] for item in checks} <= set(SEVERITIES)
    keys = [(tuple(item["asset"]), item["check"]) for item in checks]
    assert len(keys) == len(set(keys))
    orders = {item["check"]: item for item in checks if item["asset"] == ["shopify", "orders"]}
    assert orders["id_not_null"]["blocking"] is True
    assert orders["email_valid"]["severity"] == "warning"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["expectations"][0]["meta"].pop("severity"), "severity"),
        (lambda d: d["expectations"][0]["meta"].update(severity="fatal"), "severity"),
        (lambda d: d["expectations"][0]["meta"].pop("check"), "meta.check"),
        (lambda d: d["expectations"].append(d["expectations"][0]), "used twice"),
        (lambda d: d["meta"].pop("asset"), "meta.asset"),
        (lambda d: d["meta"]["frame"].update(kind="sql"), "kind"),
        (
            lambda d: d["expectations"][0]["meta"].update(
                bounds_from_previous_run={"min_ratio": 1}
            ),
            "only applies",
        ),
        (
            lambda d: d["expectations"][0]["kwargs"].update(column="not_a_field"),
            "does not have",
        ),
    ],
)
def test_format_errors_name_the_problem(change, message):
    document = {
        "name": "landing.shopify.orders",
        "meta": {
            "asset": ["shopify", "orders"],
            "frame": {"kind": "landing", "fields": {"id": "text"}},
        },
        "expectations": [
            expectation("expect_column_values_to_not_be_null", "id_not_null", column="id")
        ],
    }
    parse_suite(document)  # the unchanged document is fine
    change(document)
    with pytest.raises(SuiteError, match=message):
        parse_suite(document)


def test_reading_suites_and_building_checks_does_not_import_great_expectations():
    code = (
        "import sys\n"
        "import pipelines.assets.quality as q\n"
        "from pipelines.quality.suites import list_checks\n"
        "list_checks()\n"
        "assert 'great_expectations' not in sys.modules, 'GX imported at load time'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT)


def test_every_warehouse_suite_checks_a_dbt_model_of_the_project():
    models = {path.stem for path in (PROJECT_ROOT / "dbt_project" / "models").rglob("*.sql")}
    for suite in SUITES:
        if not isinstance(suite.frame, LandingFrame):
            assert len(suite.asset) == 1 and suite.asset[0] in models, suite.name
            assert suite.name == f"marts.{suite.asset[0]}"
