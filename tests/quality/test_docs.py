"""Data Docs: written on every run (also when checks fail), opened from disk, offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from pipelines.quality.docs import offline_html
from pipelines.quality.runner import QualityPaths, RunInfo, run_suites
from tests.quality.conftest import expectation, make_suite

REFERENCE = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
URL_IN_CSS = re.compile(r"url\(\s*['\"]?([^)'\"]*)", re.IGNORECASE)


def local_references(page: Path) -> list[str]:
    """Every src/href/url() of a page; fails on anything that is not a local file."""
    text = page.read_text(encoding="utf-8")
    targets = REFERENCE.findall(text) + URL_IN_CSS.findall(text)
    for target in targets:
        assert not re.match(r"^(?:[a-z][a-z0-9+.-]*:|//)", target, re.I), (page, target)
        path = target.split("#")[0]
        if path:
            assert (page.parent / path).exists(), (page, target)
    return targets


def _paths(tmp_path) -> QualityPaths:
    return QualityPaths(
        landing_dir=tmp_path / "landing",
        warehouse_path=tmp_path / "w.duckdb",
        state_file=tmp_path / "state.json",
        docs_dir=tmp_path / "docs" / "gx",
    )


ORDERS = make_suite(
    [
        expectation("expect_column_values_to_be_unique", "order_id_unique", column="order_id"),
        expectation(
            "expect_column_values_to_not_be_null", "email_not_null", "warning", column="email"
        ),
    ],
    name="marts.fct_orders",
    asset=("fct_orders",),
)
PERSONS = make_suite(
    [expectation("expect_column_values_to_not_be_null", "person_id_not_null", column="person_id")],
    name="marts.dim_persons",
    asset=("dim_persons",),
)


def test_docs_are_written_when_checks_fail_and_reference_only_local_files(tmp_path):
    paths = _paths(tmp_path)
    frame = pd.DataFrame({"order_id": [1, 2, 2], "email": ["a@x.com", None, "b@x.com"]})
    run_suites([ORDERS], paths, RunInfo(run_id="run-1"), frame_loader=lambda _: frame)

    index = paths.docs_dir / "index.html"
    text = index.read_text()
    assert "1 blocking check(s) failed" in text
    assert "order_id_unique" in text and "email_not_null" in text
    targets = local_references(index)
    pages = [t for t in targets if t.endswith(".html")]
    assert any(t.startswith("validations/") for t in pages)
    assert any(t.startswith("expectations/") for t in pages)
    for page in paths.docs_dir.rglob("*.html"):
        local_references(page)
    for sheet in paths.docs_dir.rglob("*.css"):
        local_references(sheet)

    outcome = json.loads((paths.docs_dir / "outcomes" / "marts.fct_orders.json").read_text())
    unique = outcome["outcomes"][0]
    assert (unique["check"], unique["passed"], unique["failed_rows"]) == (
        "order_id_unique",
        False,
        2,
    )
    # personal values are masked (no key) in our outcomes and in GX's own pages alike
    assert unique["sample"] == [
        {"order_id": 2, "email": None},
        {"order_id": 2, "email": "b***@x.com"},
    ]
    for page in paths.docs_dir.rglob("*"):
        if page.is_file():
            assert b"b@x.com" not in page.read_bytes(), page


def test_a_run_adds_to_its_own_docs_and_a_new_run_starts_afresh(tmp_path):
    paths = _paths(tmp_path)
    orders = pd.DataFrame({"order_id": [1], "email": ["a@x.com"]})
    persons = pd.DataFrame({"person_id": ["p1"]})
    run_suites([ORDERS], paths, RunInfo(run_id="run-1"), frame_loader=lambda _: orders)
    run_suites([PERSONS], paths, RunInfo(run_id="run-1"), frame_loader=lambda _: persons)
    names = sorted(p.name for p in (paths.docs_dir / "outcomes").iterdir())
    assert names == ["marts.dim_persons.json", "marts.fct_orders.json"]
    assert "in 2 suite(s)" in (paths.docs_dir / "index.html").read_text()

    run_suites([PERSONS], paths, RunInfo(run_id="run-2"), frame_loader=lambda _: persons)
    names = sorted(p.name for p in (paths.docs_dir / "outcomes").iterdir())
    assert names == ["marts.dim_persons.json"]
    assert "run-2" in (paths.docs_dir / "index.html").read_text()
    assert not list(paths.docs_dir.glob("validations/**/run-1"))


def test_a_frame_that_cannot_be_built_is_reported(tmp_path):
    paths = _paths(tmp_path)

    def broken(_suite):
        raise RuntimeError("Catalog Error: Table with name fct_orders does not exist!")

    outcomes = run_suites([ORDERS], paths, RunInfo(run_id="run-1"), frame_loader=broken)
    assert [o.passed for o in outcomes] == [False, False]
    assert "does not exist" in outcomes[0].message
    assert "could not build the frame" in (paths.docs_dir / "index.html").read_text()


def test_offline_html_strips_remote_resources():
    page = (
        '<html><head><link rel="stylesheet" href="https://cdn.example/b.css">'
        '<script src="https://code.jquery.com/jquery.js"></script>'
        "<style>.x{background:url('https://x.example/logo.png')}</style></head>"
        '<body><img src="https://tracker.example/p.png?id=1">'
        '<a href="https://greatexpectations.io">Great Expectations</a>'
        '<a href="../index.html">home</a><script>$(1)</script></body></html>'
    )
    cleaned = offline_html(page, "../index.html")
    assert "https://" not in cleaned and "<script" not in cleaned and "<img" not in cleaned
    assert "Great Expectations" in cleaned and 'href="../index.html"' in cleaned
    assert offline_html(cleaned) == cleaned
