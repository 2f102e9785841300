"""Shared pieces of the quality tests: one GX session per test process (the import takes
seconds), and small suites built in the test, in the same JSON shape as `expectations/`."""

from __future__ import annotations

import os

import pytest

from pipelines.quality.suites import Suite, parse_suite

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def make_suite(
    expectations: list[dict], *, name: str = "marts.example", asset=("example",), frame=None
) -> Suite:
    return parse_suite(
        {
            "name": name,
            "meta": {
                "asset": list(asset),
                "frame": frame or {"kind": "warehouse", "table": "marts.example"},
            },
            "expectations": expectations,
        }
    )


def expectation(kind: str, check: str, severity: str = "blocking", **kwargs) -> dict:
    meta = {"check": check, "severity": severity}
    if "bounds_from_previous_run" in kwargs:
        meta["bounds_from_previous_run"] = kwargs.pop("bounds_from_previous_run")
    return {"type": kind, "kwargs": kwargs, "meta": meta}


@pytest.fixture(scope="session")
def gx_session():
    from pipelines.quality.runner import GxSession

    return GxSession()
