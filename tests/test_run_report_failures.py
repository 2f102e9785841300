"""The run report of a failed night names the failing step, the root cause and what to do —
written by the run itself however it was launched, linked from the run, and by the sensor for
a run that died. Real Dagster runs: the real extraction asset against the sandbox, the real
dbt assets on a small dbt project; blocking checks are covered in tests/quality."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from dagster_dbt import DbtCliResource

from devkit.sandbox import SandboxServer
from pipelines.assets import extraction
from pipelines.assets.common import day_range_tags
from pipelines.assets.warehouse import build_dbt_assets
from pipelines.hooks import build_report_sensors
from pipelines.resources import JourneyResource
from pipelines.run_report import REPORT_STATUS_TAG, REPORT_TAG, write_run_report
from pipelines.settings import DBT_PROJECT_DIR, Settings
from pipelines.warehouse.dbt_runner import dbt_executable, ensure_manifest
from tests.extract.vendor_fixture import build_dataset


def linked_report(instance: dg.DagsterInstance, run_id: str) -> tuple[dict, str]:
    """The report the run links to (tag `journey/run_report`): JSON and Markdown."""
    markdown = Path(instance.get_run_by_id(run_id).tags[REPORT_TAG])
    return json.loads(markdown.with_suffix(".json").read_text()), markdown.read_text()


@pytest.fixture
def folders(tmp_path, monkeypatch) -> Settings:
    for name in ("JOURNEY_BUILD_DIR", "JOURNEY_EXPORT_DIR", "JOURNEY_DOCS_DIR", "JOURNEY_REPORT_DIR",
                 "JOURNEY_DROP_DIR", "JOURNEY_PSEUDONYMIZE_KEY"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for prefix in ("MATOMO", "MAILCHIMP", "SHOPIFY", "ZENDESK"):
        for name in ("BASE_URL", "TOKEN", "SITE_ID", "API_KEY", "LIST_ID", "ACCESS_TOKEN",
                     "API_VERSION", "EMAIL", "API_TOKEN"):  # fmt: skip
            monkeypatch.delenv(f"{prefix}_{name}", raising=False)
    monkeypatch.setenv("JOURNEY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JOURNEY_WAREHOUSE_PATH", str(tmp_path / "warehouse" / "journey.duckdb"))
    monkeypatch.setenv("JOURNEY_PARTITIONS_START", "2025-12-01")
    return Settings.from_env()


def test_an_extraction_error_names_the_step_the_vendor_answer_and_what_to_do(
    tmp_path, folders, monkeypatch
):
    dataset = build_dataset(tmp_path / "dataset")
    # (a refused login is not retried anyway: pipelines.extract.errors.is_transient)
    assets = extraction.build_extraction_assets(retry_policy=None)
    shopify = [key for asset in assets for key in asset.keys if key.path[0] == "shopify"]
    job = dg.define_asset_job(
        "nightly",
        selection=dg.AssetSelection.assets(*shopify),
        executor_def=dg.in_process_executor,
    )
    defs = dg.Definitions(assets=assets, jobs=[job], resources={"journey": JourneyResource()})
    instance = dg.DagsterInstance.ephemeral()
    with SandboxServer(dataset) as sandbox:
        for name, value in sandbox.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", "shpat_revoked0123456789")
        result = defs.resolve_job_def("nightly").execute_in_process(
            instance=instance,
            tags=day_range_tags(date(2026, 1, 31), date(2026, 1, 31)),
            raise_on_error=False,
        )

    assert not result.success
    report, markdown = linked_report(instance, result.run_id)
    assert report["status"] == "FAILURE" and report["published"] is False
    failure = report["failure"]
    assert failure["step"] == "extract_shopify" and failure["kind"] == "extraction"
    assert failure["error"].startswith(
        "AuthenticationError: shopify/orders: the vendor rejected the credentials (HTTP 401 on "
        "/shopify/admin/api/2024-10/orders.json: [API] Invalid API key or access token "
        "(unrecognized login or wrong password))"
    )
    assert failure["cause"] == failure["error"]  # raised by us, not from another error
    assert "python -m pipelines check-connections" in failure["action"]
    assert report["publish"]["reason"].startswith(
        "step extract_shopify failed: AuthenticationError: shopify/orders: the vendor rejected"
    )
    assert "## Why the run failed" in markdown
    assert "- failing step: `extract_shopify` (extraction)" in markdown
    assert "shpat_revoked0123456789" not in json.dumps(report) + markdown


TINY_PROFILE = """
journey_warehouse:
  target: duckdb
  outputs:
    duckdb:
      type: duckdb
      path: "{{ env_var('JOURNEY_DBT_DUCKDB_PATH') }}"
      threads: 1
"""
TINY_PROJECT = """
name: journey_warehouse
version: "0.1.0"
config-version: 2
profile: journey_warehouse
models:
  journey_warehouse:
    +materialized: table
"""
TINY_MODELS = {
    "staging/stg_orders.sql": "select 1 as order_id, '12.50' as total_price",
    "staging/stg_refunds.sql": (
        "select order_id, cast('n/a' as decimal(12, 2)) as refunded from {{ ref('stg_orders') }}"
    ),
    "intermediate/int_identity_evidence.sql": "select order_id from {{ ref('stg_orders') }}",
}


def run_tiny_dbt(tmp_path: Path, models: dict[str, str]) -> tuple[dg.DagsterInstance, Any, Path]:
    """The real `dbt_before_identity` asset on a small dbt project of `models` (path → text):
    the instance, the run's result and the project's manifest."""
    project = tmp_path / "dbt"
    (project / "models").mkdir(parents=True)
    (project / "profiles.yml").write_text(TINY_PROFILE)
    (project / "dbt_project.yml").write_text(TINY_PROJECT)
    (project / "macros").mkdir()  # the project's generic tests (not_null_columns, ...)
    (project / "macros" / "generic_tests.sql").write_text(
        (DBT_PROJECT_DIR / "macros" / "generic_tests.sql").read_text()
    )
    for name, text in models.items():
        (project / "models" / name).parent.mkdir(parents=True, exist_ok=True)
        (project / "models" / name).write_text(text)
    manifest = ensure_manifest(project)
    before_identity, _ = build_dbt_assets(manifest)
    dbt = DbtCliResource(
        project_dir=str(project), profiles_dir=str(project), dbt_executable=dbt_executable()
    )
    job = dg.define_asset_job("nightly", executor_def=dg.in_process_executor)
    defs = dg.Definitions(
        assets=[before_identity], jobs=[job], resources={"journey": JourneyResource(), "dbt": dbt}
    )
    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def("nightly").execute_in_process(
        instance=instance, raise_on_error=False
    )
    return instance, result, manifest


def test_a_dbt_model_error_names_the_model_its_file_and_the_database_error(tmp_path, folders):
    instance, result, _ = run_tiny_dbt(tmp_path, TINY_MODELS)

    assert not result.success
    report, markdown = linked_report(instance, result.run_id)
    failure = report["failure"]
    assert failure["step"] == "dbt_before_identity" and failure["kind"] == "dbt"
    error = failure["error"].splitlines()
    assert error[0] == "DbtBuildError: dbt 1/2: dbt could not build stg_refunds."
    assert error[1] == "- Runtime Error in model stg_refunds (models/staging/stg_refunds.sql)"
    assert error[2] == '  Conversion Error: Could not convert string "n/a" to DECIMAL(12,2)'
    assert "compiled" in failure["action"] and ".dbt.log" in failure["action"]
    assert report["publish"]["reason"].startswith(
        "step dbt_before_identity failed: DbtBuildError: dbt 1/2: dbt could not build stg_refunds"
    )
    assert 'Conversion Error: Could not convert string "n/a"' in markdown
    stages = {stage["step"]: stage["status"] for stage in report["stages"]}
    assert stages == {"dbt_before_identity": "failure"}


def test_the_sensor_writes_the_report_of_a_run_that_died(tmp_path, folders):
    """A run killed mid-way never reaches its own report; run monitoring marks it failed, and
    the run-report sensor (running by default) writes the report then."""
    job = dg.define_asset_job("nightly")
    instance = dg.DagsterInstance.ephemeral()
    run = instance.create_run_for_job(
        job_def=dg.Definitions(assets=[dg.AssetSpec("a")], jobs=[job]).resolve_job_def("nightly"),
        status=dg.DagsterRunStatus.STARTED,
    )
    instance.report_run_failed(run, "the run worker of this run is no longer alive")
    dead = instance.get_run_by_id(run.run_id)
    sensors = {sensor.name: sensor for sensor in build_report_sensors(job)}
    assert sensors["run_report_on_failure"].default_status == dg.DefaultSensorStatus.RUNNING
    event = next(iter(instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)))
    context = dg.build_run_status_sensor_context(
        sensor_name="run_report_on_failure",
        dagster_instance=instance,
        dagster_run=dead,
        dagster_event=event.dagster_event,
    )
    sensors["run_report_on_failure"](context)

    report, _ = linked_report(instance, run.run_id)
    assert report["status"] == "FAILURE"
    assert report["failure"]["step"] == "(run)"
    assert "no longer alive" in report["failure"]["cause"]
    assert instance.get_run_by_id(run.run_id).tags[REPORT_STATUS_TAG] == "FAILURE"


def test_a_report_the_run_wrote_itself_is_not_written_again_by_the_sensor(tmp_path, folders):
    instance = dg.DagsterInstance.ephemeral()
    job = dg.define_asset_job("nightly")
    run = instance.create_run_for_job(
        job_def=dg.Definitions(assets=[dg.AssetSpec("a")], jobs=[job]).resolve_job_def("nightly"),
        status=dg.DagsterRunStatus.STARTED,
    )
    instance.report_run_failed(run, "failed")
    path = write_run_report(instance, run.run_id, folders)
    path.write_text('{"kept": true}')
    context = dg.build_run_status_sensor_context(
        sensor_name="run_report_on_failure",
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run.run_id),
        dagster_event=next(
            iter(instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE))
        ).dagster_event,
    )
    {s.name: s for s in build_report_sensors(job)}["run_report_on_failure"](context)
    assert json.loads(path.read_text()) == {"kept": True}


FAILING_TESTS_YML = """
models:
  - name: stg_orders
    data_tests:
      - not_null_columns:
          name: not_null_columns_stg_orders
          arguments:
            columns: [total_price, order_id]
    columns:
      - name: order_id
        data_tests:
          - not_null
          - unique
      - name: total_price
        data_tests:
          - accepted_values:
              values: ["10.00", "11.00", "12.00", "13.00", "14.00", "15.00", "16.00", "17.00"]
              config:
                severity: warn
"""


def test_failed_and_warned_dbt_tests_show_their_failing_rows_and_passing_tests_leave_no_view(
    tmp_path, folders
):
    """dbt stores no failures itself: the dbt step keeps a view of the failing rows of each
    failed or warned test (named by its check, even when dbt shortens the test's alias) and
    none for a passing one; the report samples them from the build warehouse."""
    models = {
        "staging/stg_orders.sql": (
            "select * from (values (1, '12.50'), (null, '12.00'), (3, '99.99')) "
            "as t (order_id, total_price)"
        ),
        "staging/_stg.yml": FAILING_TESTS_YML,
        "intermediate/int_identity_evidence.sql": "select order_id from {{ ref('stg_orders') }}",
    }
    instance, result, manifest = run_tiny_dbt(tmp_path, models)

    assert not result.success
    report, _ = linked_report(instance, result.run_id)
    failures = {failure["check"]: failure for failure in report["checks"]["failures"]}
    assert sorted(failures) == ["not_null_columns_stg_orders", "not_null_stg_orders_order_id"]
    failed, columns = (
        failures["not_null_stg_orders_order_id"],
        failures["not_null_columns_stg_orders"],
    )
    assert failed["metadata"]["sample"] == [{"order_id": None}]  # dbt selects the column
    # one test for a model's not-null columns: its sample names the column and its null rows
    assert columns["metadata"]["sample"] == [{"column_name": "order_id", "null_rows": 1}]
    [warned] = report["checks"]["warnings"]
    long_name = (
        "accepted_values_stg_orders_total_price__10_00__11_00__12_00__13_00__14_00__15_00__16_00"
        "__17_00"
    )
    assert warned["check"] == long_name
    assert warned["metadata"]["unexpected_values"] == [
        {"value": "12.50", "count": 1},
        {"value": "99.99", "count": 1},
    ]
    nodes = json.loads(manifest.read_text())["nodes"]
    assert any(n["name"] == long_name and n["alias"] != long_name for n in nodes.values())
    with duckdb.connect(str(folders.build_warehouse_path), read_only=True) as con:
        views = con.sql(
            "select view_name from duckdb_views() where schema_name = 'test_failures'"
        ).fetchall()
    assert sorted(views) == sorted(
        [(long_name,), ("not_null_stg_orders_order_id",), ("not_null_columns_stg_orders",)]
    )
