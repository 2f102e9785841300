"""PNG pictures of the report, taken by the system's Chromium (for slides and the README).

Plotly's own static export needs kaleido, which downloads a browser; instead the page is
opened in the machine's Chromium through Playwright's Python API, offline (every request
that is not the page file itself is aborted), and the map element — or the whole page — is
screenshotted. Without Chromium or Playwright nothing is drawn and `PngResult.reason` says
why and what to install; the HTML report does not depend on it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BROWSER_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
DEFAULT_BROWSERS = ("chromium", "chromium-browser", "/usr/bin/chromium")
INSTALL_HINT = "`make system` installs it (Debian package chromium)"
VIEWPORT = {"width": 1440, "height": 900}


class BrowserMissing(RuntimeError):
    """No usable Chromium (the message says what to install)."""


def find_browser(explicit: str | os.PathLike | None = None) -> Path:
    candidates = [str(explicit)] if explicit else list(DEFAULT_BROWSERS)
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return Path(found)
    raise BrowserMissing(f"no Chromium found (looked for {', '.join(candidates)}); {INSTALL_HINT}")


@contextmanager
def browser_context(
    executable: str | os.PathLike | None = None, *, scale: float = 1.0
) -> Iterator[object]:
    """A headless Chromium context (Playwright) with a throw-away profile folder."""
    path = find_browser(executable)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        raise BrowserMissing(
            "the Python package playwright is not installed (it drives the system Chromium)"
        ) from error
    profile = tempfile.mkdtemp(prefix="journey-report-browser-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(path),
                headless=True,
                args=list(BROWSER_ARGS),
                viewport=VIEWPORT,
                device_scale_factor=scale,
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def open_offline(context, page_path: Path):
    """A new page showing `page_path`, with every other request aborted; waits until every
    chart has drawn its SVG."""
    page = context.new_page()
    url = page_path.resolve().as_uri()
    page.route(
        "**/*", lambda route: route.continue_() if route.request.url == url else route.abort()
    )
    page.goto(url, wait_until="load")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.chart')]"
        ".every(chart => chart.querySelector('svg.main-svg'))",
        timeout=60_000,
    )
    return page


@dataclass
class PngResult:
    path: Path | None
    reason: str | None = None


def write_png(
    page_path: Path,
    png_path: Path,
    *,
    selector: str | None = "#journey-map",
    browser: str | os.PathLike | None = None,
) -> PngResult:
    """A PNG of the element `selector` of the page (None: the whole page), at twice the
    screen's pixel density (crisp on slides). Written atomically."""
    try:
        from playwright.sync_api import Error as BrowserError
    except ImportError:
        BrowserError = BrowserMissing
    try:
        with browser_context(browser, scale=2.0 if selector else 1.0) as context:
            page = open_offline(context, page_path)
            tmp = png_path.with_name(png_path.name + ".tmp.png")
            if selector:
                page.locator(selector).screenshot(path=str(tmp))
            else:
                page.screenshot(path=str(tmp), full_page=True)
            os.replace(tmp, png_path)
    except BrowserMissing as error:
        return PngResult(None, f"PNG not written: {error}")
    except BrowserError as error:
        first_line = (
            str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        )
        return PngResult(None, f"PNG not written: the browser failed: {first_line}")
    return PngResult(png_path)
