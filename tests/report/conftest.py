"""One published warehouse for the report tests, and a headless Chromium to open pages in.

The warehouse is the dbt tests' vendor-path build (`tests/dbt/conftest.py`: 400 generated
persons through landing, staging, the Polars identity step and the marts), built once per
test run and shared with those tests; here only the tables the publish step exposes (schemas
marts and identity) are copied into a file of their own, which the report reads read-only.
The browser is Debian's chromium (`make system` installs it), driven by Playwright; nothing
is downloaded.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.report.image import BrowserMissing, browser_context, find_browser
from tests.dbt.conftest import BuiltWarehouse, built_once, vendor_built  # noqa: F401


@dataclass
class Published:
    path: Path

    def query(self, sql: str, parameters: dict | None = None) -> pl.DataFrame:
        """Rows as the report reads them: instants as naive UTC datetimes (report/reader.py)."""
        with duckdb.connect(str(self.path), read_only=True) as con:
            con.execute("set TimeZone = 'UTC'")
            frame = con.execute(sql, parameters or {}).pl()
        return frame.with_columns(pl.selectors.datetime(time_zone="*").dt.replace_time_zone(None))

    def copy_to(self, target: Path) -> Path:
        shutil.copyfile(self.path, target)
        return target


@pytest.fixture(scope="session")
def published(
    vendor_built: BuiltWarehouse,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
    worker_id: str,
) -> Published:
    def copy(root: Path) -> dict:
        vendor_built.warehouse.published_copy(root / "journey.duckdb")
        return {}

    root, _ = built_once(tmp_path_factory, worker_id, "report_published", copy)
    return Published(root / "journey.duckdb")


@dataclass
class OpenedPage:
    """What a page did while it loaded: console errors, page errors, every request."""

    page: object
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    try:
        find_browser()
    except BrowserMissing as error:
        pytest.fail(f"{error} — the report's browser tests need it")
    with browser_context() as context:
        yield context


def open_page(context, path: Path) -> OpenedPage:
    """Open `path` from disk with the network cut off: every request is recorded, and any
    request other than the file itself is aborted."""
    page = context.new_page()
    url = path.resolve().as_uri()
    opened = OpenedPage(page)
    page.on("console", lambda m: m.type == "error" and opened.console_errors.append(m.text))
    page.on("pageerror", lambda error: opened.page_errors.append(str(error)))

    def route(request_route) -> None:
        opened.requests.append(request_route.request.url)
        if request_route.request.url == url:
            request_route.continue_()
        else:
            request_route.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.chart')]"
        ".every(chart => chart.querySelector('svg.main-svg'))",
        timeout=60_000,
    )
    return opened
