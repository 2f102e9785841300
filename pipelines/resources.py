"""Dagster resources: the only bridge between the orchestrator and `pipelines.settings`."""

from __future__ import annotations

import os

import dagster as dg

from pipelines.settings import Settings


class JourneyResource(dg.ConfigurableResource):
    """Paths, credentials and tunables of a run.

    Every value comes from the environment variables documented in README.md, read when a
    step runs (never at import time). The optional fields let a test or a deployment pin a
    path without touching the environment.
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
