"""Write-audit-publish through Dagster: a tiny job builds `marts.fct_orders` into the staging
warehouse, the quality checks audit it, and a downstream asset calls the real `publish`.

A blocking failure stops the publish (the published file stays byte for byte), fails the run
and names the check, the failed row count and a sample; a warning publishes and is recorded.
"""

import hashlib
import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.assets.quality import QualityConfigurationError, build_quality_checks
from pipelines.resources import JourneyResource
from pipelines.run_report import collect_run_report
from pipelines.settings import Settings
from pipelines.warehouse.build import BuildLock, prepare_build
from pipelines.warehouse.publish import publish

ORDERS_SUITE = {
    "name": "marts.fct_orders",
    "meta": {
        "asset": ["fct_orders"],
        "description": "Orders mart (test suite).",
        "frame": {"kind": "warehouse", "table": "marts.fct_orders"},
    },
    "expectations": [
        {
            "type": "expect_column_values_to_be_unique",
            "kwargs": {"column": "order_id"},
            "meta": {"check": "order_id_unique", "severity": "blocking"},
        },
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "total_price", "min_value": 0},
            "meta": {"check": "total_price_not_negative", "severity": "warning"},
        },
    ],
}


class OrdersConfig(dg.Config):
    order_ids: list[int]
    totals: list[float]


def _definitions(tmp_path: Path) -> dg.Definitions:
    suites = tmp_path / "expectations"
    (suites / "marts").mkdir(parents=True)
    (suites / "marts" / "fct_orders.json").write_text(json.dumps(ORDERS_SUITE))

    @dg.asset(key="fct_orders")
    def fct_orders(
        context: dg.AssetExecutionContext, config: OrdersConfig, journey: JourneyResource
    ):
        settings = journey.settings()
        path = prepare_build(settings, run_id=context.run_id, full_refresh=False)
        con = duckdb.connect(str(path))
        try:
            con.execute("create schema if not exists marts")
            con.execute(
                "create or replace table marts.fct_orders as "
                "select unnest(?) as order_id, unnest(?) as total_price",
                [config.order_ids, config.totals],
            )
        finally:
            con.close()

    @dg.asset(key=["warehouse", "published"], deps=[fct_orders])
    def published(context: dg.AssetExecutionContext, journey: JourneyResource):
        publish(journey.settings(), run_id=context.run_id)

    checks = build_quality_checks([], [dg.AssetKey("fct_orders")], suites_dir=suites)
    return dg.Definitions(
        assets=[fct_orders, published],
        asset_checks=checks,
        jobs=[
            dg.define_asset_job(
                "nightly", selection=dg.AssetSelection.all(), executor_def=dg.in_process_executor
            )
        ],
        resources={
            "journey": JourneyResource(
                data_dir=str(tmp_path / "data"),
                warehouse_path=str(tmp_path / "warehouse" / "journey.duckdb"),
            )
        },
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in (
        "JOURNEY_BUILD_DIR",
        "JOURNEY_EXPORT_DIR",
        "JOURNEY_DOCS_DIR",
        "JOURNEY_REPORT_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env(
        {
            "JOURNEY_DATA_DIR": str(tmp_path / "data"),
            "JOURNEY_WAREHOUSE_PATH": str(tmp_path / "warehouse" / "journey.duckdb"),
        }
    )
    return (
        _definitions(tmp_path).resolve_job_def("nightly"),
        settings,
        dg.DagsterInstance.ephemeral(),
    )


def _run(job, instance, order_ids, totals):
    config = {"ops": {"fct_orders": {"config": {"order_ids": order_ids, "totals": totals}}}}
    return job.execute_in_process(run_config=config, instance=instance, raise_on_error=False)


def _evaluations(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()
    }


def test_blocking_failure_keeps_the_published_warehouse_and_fails_the_run(env):
    job, settings, instance = env
    good = _run(job, instance, [1, 2, 3], [10.0, 20.0, 30.0])
    assert good.success
    before = _digest(settings.warehouse_path)

    bad = _run(job, instance, [1, 2, 2, 3], [10.0, 20.0, 21.0, 30.0])

    assert not bad.success
    assert _digest(settings.warehouse_path) == before
    assert not settings.previous_warehouse_path.exists()  # nothing was swapped
    assert "warehouse__published" not in {e.step_key for e in bad.get_step_success_events()}
    failed = _evaluations(bad)["order_id_unique"]
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR
    metadata = {key: value.value for key, value in failed.metadata.items()}
    assert metadata["failed_rows"] == 2
    assert metadata["sample"] == [
        {"order_id": 2, "total_price": 20.0},
        {"order_id": 2, "total_price": 21.0},
    ]
    assert "order_id_unique" in metadata["message"] and "2 of 4 rows" in metadata["message"]

    report = collect_run_report(instance, bad.run_id)
    assert not report["published"]
    assert "fct_orders:order_id_unique" in report["publish"]["reason"]
    [reported] = report["checks"]["failures"]
    assert reported["metadata"]["failed_rows"] == 2
    # every check carries its suite's timings; the report lists them per suite
    [timing] = report["checks"]["timings"]
    assert timing["suite"] == reported["metadata"]["suite"]
    assert timing["checks"] == len(ORDERS_SUITE["expectations"]) and timing["rows"] == 4
    assert timing["frame_seconds"] >= 0 and timing["validate_seconds"] > 0
    # the run wrote its own report, linked from the run, naming the step, the cause and what to do
    linked = Path(instance.get_run_by_id(bad.run_id).tags["journey/run_report"])
    assert linked.with_suffix(".json").exists()
    failure = json.loads(linked.with_suffix(".json").read_text())["failure"]
    assert failure["step"] == "quality_warehouse" and failure["kind"] == "checks"
    assert failure["cause"] == (
        "fct_orders: order_id_unique [blocking] failed on 2 of 4 rows: "
        "expect_column_values_to_be_unique(column='order_id')"
    )
    assert "Data Docs in" in failure["action"] and str(settings.docs_dir) in failure["action"]
    assert "## Why the run failed" in linked.read_text()
    assert "### Check timings" in linked.read_text()

    index = (settings.docs_dir / "gx" / "index.html").read_text()
    assert "order_id_unique" in index and bad.run_id in index

    # the failed run still holds the build lock in this (still living) process; a new
    # run normally starts in a new process and takes the stale lock over
    BuildLock(settings.build_dir / ".lock", bad.run_id).release()
    fixed = _run(job, instance, [1, 2, 3, 4], [10.0, 20.0, 30.0, 40.0])
    assert fixed.success and _digest(settings.warehouse_path) != before


def test_warning_publishes_and_is_recorded(env):
    job, settings, instance = env
    result = _run(job, instance, [1, 2], [10.0, -5.0])

    assert result.success
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert con.execute("select count(*) from marts.fct_orders").fetchone()[0] == 2
    con.close()
    warned = _evaluations(result)["total_price_not_negative"]
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert warned.metadata["failed_rows"].value == 1
    report = collect_run_report(instance, result.run_id)
    assert report["published"]
    assert [c["check"] for c in report["checks"]["warnings"]] == ["total_price_not_negative"]


def test_a_suite_for_an_asset_the_job_lacks_is_an_error(tmp_path):
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "fct_orders.json").write_text(json.dumps(ORDERS_SUITE))
    with pytest.raises(QualityConfigurationError, match="fct_orders"):
        build_quality_checks([], [dg.AssetKey("fct_order")], suites_dir=tmp_path)


def test_the_real_suites_become_one_check_step_per_source_and_one_for_the_warehouse():
    from pipelines.assets.quality import quality_check_keys
    from pipelines.extract.streams import STREAMS
    from pipelines.quality.suites import list_checks

    catalogue = list_checks()
    landing = [dg.AssetKey([source, stream]) for source, stream in STREAMS]
    marts = {dg.AssetKey(item["asset"]) for item in catalogue} - set(landing)
    definitions = build_quality_checks(landing, marts)

    assert sorted(d.node_def.name for d in definitions) == [
        "quality_landing_filedrop",
        "quality_landing_mailchimp",
        "quality_landing_matomo",
        "quality_landing_shopify",
        "quality_landing_zendesk",
        "quality_warehouse",
    ]
    specs = {spec.key: spec for d in definitions for spec in d.check_specs}
    assert set(specs) == set(quality_check_keys())
    for item in catalogue:
        spec = specs[dg.AssetCheckKey(dg.AssetKey(item["asset"]), item["check"])]
        assert spec.blocking is item["blocking"]
