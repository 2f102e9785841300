"""The Dagster code location: every asset, check, job, schedule and sensor, imported explicitly.

Loaded by `dagster dev` (workspace.yaml) and by the CLI (`python -m pipelines`). Reading the
settings here is the one exception to "no environment at import time": the schedule's cron
must be known when the code location loads (DECISIONS.md).

`defs` is built on first access (PEP 562 module `__getattr__`): Dagster's loader finds it by
name, and the CLI, which calls `build_definitions` itself, does not build everything twice
(~2 s of each run's start).
"""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines import event_log
from pipelines.assets.extraction import build_extraction_assets
from pipelines.assets.gate import build_quarantine_gate
from pipelines.assets.identity import build_identity_assets
from pipelines.assets.publish import build_publish_asset
from pipelines.assets.quality import build_quality_checks
from pipelines.assets.report import journey_report
from pipelines.assets.warehouse import build_dbt_assets
from pipelines.hooks import build_report_sensors
from pipelines.jobs import build_nightly_job, build_nightly_schedule
from pipelines.resources import JourneyResource
from pipelines.run_monitor import build_run_monitor_sensor
from pipelines.settings import DBT_PROJECT_DIR, Settings
from pipelines.warehouse.dbt_runner import dbt_executable, ensure_manifest


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    event_log.install()  # cheaper Dagster event writes (pipelines/event_log.py)
    extraction = build_extraction_assets()
    landing = [key for assets in extraction for key in assets.keys]
    dbt_models = build_dbt_assets(ensure_manifest())
    identity = build_identity_assets()
    upstream = [key for assets in (*dbt_models, *identity) for key in assets.keys]
    publish = build_publish_asset(upstream)
    nightly = build_nightly_job()
    return dg.Definitions(
        assets=[*extraction, *dbt_models, *identity, publish, journey_report],
        asset_checks=[*build_quality_checks(landing, upstream), build_quarantine_gate(landing)],
        jobs=[nightly],
        schedules=[build_nightly_schedule(nightly, settings)],
        sensors=[*build_report_sensors(nightly), build_run_monitor_sensor()],
        resources={
            "journey": JourneyResource(),
            "dbt": DbtCliResource(
                project_dir=str(DBT_PROJECT_DIR),
                profiles_dir=str(DBT_PROJECT_DIR),
                dbt_executable=dbt_executable(),
            ),
        },
    )


def __getattr__(name: str) -> dg.Definitions:
    if name == "defs":
        definitions = build_definitions()
        globals()["defs"] = definitions
        return definitions
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "defs"})
