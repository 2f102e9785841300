"""Dagster resources: the only bridge between the orchestrator and `pipelines.settings`."""

from __future__ import annotations

import os

import dagster as dg

from pipelines.settings import Settings


class JourneyResource(dg.ConfigurableResource):
    """Paths, credentials and tunables of a run — and, when the run's last step has ended, its
    run report.

    Every value comes from the environment variables documented in README.md, read when a
    step runs (never at import time). The optional fields let a test or a deployment pin a
    path without touching the environment.

    Every step of the nightly job uses this resource, and the job's in-process executor tears
    it down once, after the last step: that is where the run writes its own report, however
    it was launched (schedule, UI, backfill, CLI), and links it from the run (tag
    `journey/run_report`). A report that cannot be written is a warning, never a failed run.
    """

    data_dir: str | None = None
    warehouse_path: str | None = None
    drop_dir: str | None = None

    def settings(self) -> Settings:
        env = dict(os.environ)
        for field, variable in (
            ("data_dir", "JOURNEY_DATA_DIR"),
            ("warehouse_path", "JOURNEY_WAREHOUSE_PATH"),
            ("drop_dir", "JOURNEY_DROP_DIR"),
        ):
            value = getattr(self, field)
            if value:
                env[variable] = value
        return Settings.from_env(env)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        from pipelines.run_report import write_run_report

        if context.instance is None or context.run_id is None or context.log is None:
            return
        try:
            path = write_run_report(context.instance, context.run_id, self.settings())
        except Exception as error:  # the report must never turn a good run into a failed one
            context.log.warning(f"the run report could not be written: {error}")
            return
        context.log.info(f"run report: {path.with_suffix('.md')}")
