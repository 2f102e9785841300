"""dbt exposures name exactly what their readers read: the journey report's declared evidence,
and the tables of the README's example BI queries."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re

import pipelines.report
from pipelines.report.kpis import Mart
from pipelines.report.reader import Evidence
from pipelines.settings import PROJECT_ROOT
from pipelines.warehouse.dbt_runner import ensure_manifest


def _exposed(name: str) -> set[str]:
    manifest = json.loads(ensure_manifest().read_text())
    exposure = manifest["exposures"][f"exposure.journey_warehouse.{name}"]
    nodes = manifest["nodes"]
    return {
        f"{nodes[node]['schema']}.{nodes[node]['alias']}"
        for node in exposure["depends_on"]["nodes"]
    }


def report_reads() -> set[str]:
    """Every published table a module of pipelines/report declares it reads."""
    found = set()
    for module in pkgutil.iter_modules(pipelines.report.__path__):
        for value in vars(importlib.import_module(f"pipelines.report.{module.name}")).values():
            if isinstance(value, Evidence):
                found.add(value.name)
            elif isinstance(value, Mart):
                found.add(f"marts.{value.table}")
    return found


def readme_example_tables() -> set[str]:
    readme = (PROJECT_ROOT / "README.md").read_text()
    found = set()
    for section in ("## Querying the warehouse", "## Connect your BI tool"):
        body = readme.split(section, 1)[1].split("\n## ", 1)[0]
        code = "\n".join(re.findall(r"```\w*\n(.*?)```", body, flags=re.S))
        found |= {f"{s}.{t}" for s, t in re.findall(r"\b(marts|identity)\.(\w+)", code)}
        found |= {f"marts.{t}" for t in re.findall(r"exports/current/(\w+)", code)}
    return found


def test_the_journey_report_exposure_lists_what_the_report_reads():
    reads = report_reads()
    assert {"marts.fct_journey_phases", "identity.identity_map"} <= reads  # the scan finds them
    assert _exposed("journey_report") == reads


def test_the_bi_dashboards_exposure_lists_the_readme_examples_tables():
    tables = readme_example_tables()
    assert "marts.fct_attribution" in tables  # the scan finds the PostgreSQL example
    assert _exposed("bi_example_dashboards") == tables
