"""dbt models as Dagster assets, split around the identity step.

`dbt_before_identity` builds staging and everything the evidence model needs, into a fresh
staging warehouse (write-audit-publish: never the published file). The identity assets read
`int_identity_evidence` and write the identity tables that `dbt_after_identity` reads as dbt
sources. dbt tests become asset checks; tests with severity `error` are blocking. The failing
rows of failed and warned tests are kept as views after each invocation
(`pipelines.warehouse.dbt_failures`).

Each invocation streams dbt's structured events as they come: Dagster events for every model
and test (dagster-dbt's translation), and a progress line per model in the run's log
(`pipelines.warehouse.dbt_progress`). A failed model fails the step with the model's name, file
and database error, not dbt's exit code alone.
"""

import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from pipelines.assets.common import is_full_refresh, run_last_day
from pipelines.console import announce
from pipelines.quality.dbt_test_descriptions import describe
from pipelines.resources import JourneyResource
from pipelines.settings import temporary_environment
from pipelines.spark import night
from pipelines.spark.tables import copy_to_duckdb
from pipelines.warehouse.build import prepare_build
from pipelines.warehouse.dbt_failures import keep_failing_rows
from pipelines.warehouse.dbt_progress import DbtProgress
from pipelines.warehouse.dbt_runner import (
    PRE_IDENTITY_SELECT,
    dbt_environment,
    dbt_target_path,
    run_environment,
)


class JourneyDbtTranslator(DagsterDbtTranslator):
    """Groups assets by dbt layer (staging / intermediate / marts / identity)."""

    def __init__(self) -> None:
        super().__init__(DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: dict[str, Any]) -> dg.AssetKey:
        """Models by name (dbt model names are unique); sources `[source, table]` like the
        landing and identity assets that produce them."""
        if dbt_resource_props.get("resource_type") in ("model", "seed", "snapshot"):
            return dg.AssetKey(dbt_resource_props["name"])
        return super().get_asset_key(dbt_resource_props)

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: Any,
    ) -> dg.AssetCheckSpec | None:
        """dbt's check, described in words a person can act on (its yml `description:`, or
        the sentence of its kind: pipelines/quality/dbt_test_descriptions.py)."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        description = describe(manifest["nodes"][unique_id], manifest)
        return spec._replace(description=description) if description else spec

    def get_group_name(self, dbt_resource_props: dict[str, Any]) -> str | None:
        if dbt_resource_props.get("resource_type") == "model":
            parts = Path(dbt_resource_props.get("original_file_path", "")).parts
            if len(parts) > 1 and parts[0] == "models":
                return parts[1]
        return super().get_group_name(dbt_resource_props)


def _run_dbt(
    context: AssetExecutionContext, dbt: DbtCliResource, journey: JourneyResource, *, first: bool
) -> Iterator:
    settings = journey.settings()
    full_refresh = is_full_refresh(context)
    if first:
        context.log.info("preparing the build warehouse (a copy of the published one)")
        prepare_build(settings, run_id=context.run_id, full_refresh=full_refresh)
    if settings.engine == "spark":
        # Spark's tables are rewritten in place: after a night that did not finish, rebuild
        spark_night = night.start(
            settings.spark_dir, context.run_id, first=first, requested=full_refresh
        )
        if spark_night.reason:
            context.log.warning(spark_night.reason)
        full_refresh = spark_night.full_refresh
    last_day = run_last_day(context)
    # dbt unit tests check the SQL logic against fixed inputs: they run in the test suite
    # (tests/dbt), not against each night's data.
    args = ["build", "--exclude-resource-type", "unit_test"]
    if full_refresh:
        args.append("--full-refresh")
    progress = DbtProgress("dbt 1/2" if first else "dbt 2/2")
    context.log.info(f"{progress.label}: starting `dbt build` (dbt parses the project first)")
    announce(f"{progress.label}: dbt is starting and parsing the project")
    started = time.time()
    with temporary_environment({**dbt_environment(settings), **run_environment(last_day=last_day)}):
        # One target folder per build folder: every invocation after the first reuses dbt's
        # partial parse (the profile and sources' variables are the same), saving a full parse.
        invocation = dbt.cli(
            args, context=context, target_path=dbt_target_path(settings), raise_on_error=False
        )
        for event in invocation.stream_raw_events():
            for level, message in progress.feed(event.raw_event):
                context.log.log(level, message)
            yield from event.to_default_asset_events(
                manifest=invocation.manifest,
                dagster_dbt_translator=invocation.dagster_dbt_translator,
                context=context,
                target_path=invocation.target_path,
                project=invocation.project,
            )
        error = progress.error(invocation.process.wait())
    if settings.engine == "duckdb":  # on Spark the tests' compiled SQL reads Spark tables
        keep_failing_rows(settings.build_warehouse_path, dbt_target_path(settings), started=started)
    if error is not None:
        raise error
    if settings.engine == "spark" and not first:
        # publishing, quality checks and the report read the build's DuckDB file
        context.log.info("copying the Spark build's tables into the build warehouse")
        copy_to_duckdb(settings.spark_dir / "warehouse", settings.build_warehouse_path)
    if settings.engine == "spark":
        night.succeeded(settings.spark_dir, context.run_id, first=first)


def build_dbt_assets(manifest: Path) -> list[dg.AssetsDefinition]:
    translator = JourneyDbtTranslator()

    @dbt_assets(
        manifest=manifest,
        select=PRE_IDENTITY_SELECT,
        name="dbt_before_identity",
        dagster_dbt_translator=translator,
        op_tags={"journey/stage": "transform"},
    )
    def dbt_before_identity(
        context: AssetExecutionContext, dbt: DbtCliResource, journey: JourneyResource
    ):
        yield from _run_dbt(context, dbt, journey, first=True)

    @dbt_assets(
        manifest=manifest,
        exclude=PRE_IDENTITY_SELECT,
        name="dbt_after_identity",
        dagster_dbt_translator=translator,
        op_tags={"journey/stage": "transform"},
    )
    def dbt_after_identity(
        context: AssetExecutionContext, dbt: DbtCliResource, journey: JourneyResource
    ):
        yield from _run_dbt(context, dbt, journey, first=False)

    return [dbt_before_identity, dbt_after_identity]
