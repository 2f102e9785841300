"""Data Docs: written on every run (also when checks fail), opened from disk, offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

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
        for target in local_references(page):  # and what the stylesheets they load load
            if target.split("#")[0].endswith(".css"):
                local_references((page.parent / target).resolve())

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


LANDING = make_suite(
    [
        expectation(
            "expect_column_values_to_not_be_null",
            "created_at_parseable",
            column="created_at",
            row_condition="created_at__text.notnull()",
            condition_parser="pandas",
        ),
    ],
    name="landing.shop.orders",
    asset=("shop", "orders"),
    frame={"kind": "landing", "fields": {"created_at": "timestamp_iso"}},
)


def _gx_pages(root: Path) -> list[Path]:
    return sorted(root.glob("validations/**/*.html")) + sorted(root.glob("expectations/**/*.html"))


def test_gx_pages_come_from_the_offline_view_with_local_styles_and_no_vendor_footer(tmp_path):
    paths = _paths(tmp_path)
    frame = pd.DataFrame(
        {"created_at": [pd.Timestamp("2026-01-01"), None], "created_at__text": ["2026-01-01", "x"]}
    )
    run_suites([LANDING], paths, RunInfo(run_id="run-1"), frame_loader=lambda _: frame)
    pages = _gx_pages(paths.docs_dir)
    assert len(pages) == 2  # the suite and its validation
    for page in pages:
        text = page.read_text()
        targets = local_references(page)  # nothing outside the folder, every file exists
        assert any(t.endswith("static/journey/journey-docs.css") for t in targets), page
        assert any(t.endswith("static/journey/journey-docs.js") for t in targets), page
        assert any(t.endswith("index.html") for t in targets), page  # back to the overview
        assert "newsletter" not in text.lower() and "greatexpectations.io" not in text
        assert "<script>" not in text.replace(" ", "")  # no inline jQuery left over
        # the helper column is labelled as such on the pages that show it
        assert "Helper columns." in text and "created_at__text" in text
    index = (paths.docs_dir / "index.html").read_text()
    assert "created_at__text (helper: raw text, check only)" in index


def test_a_validation_page_renders_styled_in_a_browser_without_network(tmp_path):
    from playwright.sync_api import sync_playwright

    paths = _paths(tmp_path)
    frame = pd.DataFrame({"order_id": [1, 2, 2], "email": ["a@x.com", "c@x.com", "b@x.com"]})
    run_suites([ORDERS], paths, RunInfo(run_id="run-1"), frame_loader=lambda _: frame)
    [validation] = sorted(paths.docs_dir.glob("validations/**/*.html"))  # 1 failed, 1 passed
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda request: requested.append(request.url))
            page.goto(validation.as_uri())
            page.wait_for_load_state("load")
            table = page.locator("table.table").first
            styles = table.evaluate(
                "t => { const s = getComputedStyle(t); "
                "return [s.borderCollapse, getComputedStyle(t.querySelector('td')).borderTopStyle]; }"
            )
            sidebar_width = page.locator(".col-md-2").first.evaluate(
                "e => e.getBoundingClientRect().width"
            )
            # the "Failed only" filter works without jQuery
            page.get_by_text("Failed Only").click()
            hidden = page.locator(".hide-succeeded-validation-target-child").first.evaluate(
                "e => getComputedStyle(e.parentElement).display"
            )
        finally:
            browser.close()
    assert requested and all(url.startswith("file://") for url in requested), requested
    assert styles == ["collapse", "solid"]  # our stylesheet applied: bordered tables
    assert 150 < sidebar_width < 300  # the two-column layout: sidebar beside the results
    assert hidden == "none"
