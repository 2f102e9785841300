"""The MetricFlow semantic layer over the published warehouse (no Dagster here).

The semantic models and metrics live in the dbt project (`dbt_project/models/semantic/`, the
time spine `marts.dim_days`). MetricFlow's `mf` reads them from
`dbt_project/target/semantic_manifest.json` and queries through the dbt profile's `metricflow`
target: an in-memory DuckDB with the published file attached **read-only** under the name
`journey` (the manifest names relations `journey.marts.<table>`, so any copy of the file works
and nothing is ever written to it). Offline: parsing and querying read local files only.

`python -m pipelines metrics <mf arguments>` runs `mf` so (README "Metrics"); `query_metrics`
does the same from Python and returns a Polars frame.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines.errors import JourneyError
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.warehouse.dbt_runner import parsed_artifact, rules_environment

TARGET = "metricflow"
WAREHOUSE_VARIABLE = "JOURNEY_METRICS_WAREHOUSE"
DECIMALS = 12  # digits after the point of non-integer values `query_metrics` reads (mf rounds)


class MetricsError(JourneyError):
    """The semantic layer cannot answer (the message says why and what to do)."""


def metricflow_environment(warehouse: Path, project_dir: Path = DBT_PROJECT_DIR) -> dict[str, str]:
    """The environment `dbt parse` and `mf` need for the `metricflow` target over `warehouse`.

    Parsing and querying read no landing, quarantine or identity files: their variables get
    placeholders (the profile and sources must still render)."""
    scratch = Path(tempfile.gettempdir()) / "journey-metrics"
    return {
        **os.environ,
        "JOURNEY_DBT_TARGET": TARGET,
        WAREHOUSE_VARIABLE: str(Path(warehouse).resolve()),
        "DBT_PROFILES_DIR": str(project_dir),
        "DBT_PROJECT_DIR": str(project_dir),
        "JOURNEY_DBT_DUCKDB_PATH": str(scratch / "unused.duckdb"),
        "JOURNEY_LANDING_DIR": str(scratch / "landing"),
        "JOURNEY_QUARANTINE_DIR": str(scratch / "quarantine"),
        "JOURNEY_IDENTITY_DIR": str(scratch / "identity"),
        **rules_environment(),
    }


def ensure_semantic_manifest(warehouse: Path, project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """`target/semantic_manifest.json` for the `metricflow` target, parsed again when the
    project changed (`dbt_runner.parsed_artifact`)."""
    try:
        return parsed_artifact(
            project_dir, "semantic_manifest.json", metricflow_environment(warehouse, project_dir)
        )
    except RuntimeError as error:
        raise MetricsError(f"the semantic layer could not be parsed: {error}") from error


def mf_executable() -> str:
    """MetricFlow's CLI of this virtualenv (its bin folder need not be on PATH)."""
    return str(Path(sys.executable).with_name("mf"))


def run_mf(
    arguments: Sequence[str], warehouse: Path, *, capture: bool = False
) -> subprocess.CompletedProcess:
    """`mf <arguments>` against the published `warehouse` (read-only)."""
    warehouse = Path(warehouse)
    if not warehouse.exists():
        raise MetricsError(
            f"no published warehouse at {warehouse}; run `make demo` or `python -m pipelines run` "
            "first (or set JOURNEY_WAREHOUSE_PATH)"
        )
    ensure_semantic_manifest(warehouse)
    return subprocess.run(
        [mf_executable(), *arguments],
        cwd=DBT_PROJECT_DIR,
        env=metricflow_environment(warehouse),
        capture_output=capture,
        text=True,
        check=False,
    )


def query_metrics(
    warehouse: Path,
    metrics: Sequence[str],
    group_by: Sequence[str] = (),
    *,
    where: str | None = None,
    order: Sequence[str] = (),
) -> pl.DataFrame:
    """`mf query` from Python: the metrics by the group-by items, as a Polars frame (one
    column per group-by item, then one per metric)."""
    with tempfile.TemporaryDirectory(prefix="journey-metrics-") as tmp:
        out = Path(tmp) / "result.csv"
        arguments = ["query", "--metrics", ",".join(metrics), "--csv", str(out), "--quiet"]
        arguments += ["--decimals", str(DECIMALS)]
        if group_by:
            arguments += ["--group-by", ",".join(group_by)]
        if where:
            arguments += ["--where", where]
        if order:
            arguments += ["--order", ",".join(order)]
        done = run_mf(arguments, warehouse, capture=True)
        if done.returncode != 0 or not out.exists():
            raise MetricsError(
                f"mf query {' '.join(metrics)} failed: {(done.stdout + done.stderr)[-2000:]}"
            )
        return pl.read_csv(out, infer_schema_length=None)
