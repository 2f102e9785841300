"""Fixtures: the hand-written vendor dataset, a sandbox serving it, settings pointing at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from devkit.sandbox import Fault, SandboxServer
from devkit.vendor_dataset import land_vendor_dataset
from pipelines.extract.landing import deduplicate, read_landing
from pipelines.extract.runner import ExtractionWindow, StreamResult, extract_source, plan_window
from pipelines.settings import Settings
from tests.extract.vendor_fixture import build_dataset

COMPARED = ["record_id", "record_updated_at", "_record_hash", "_unknown_fields", "record"]
LAST_DAY = date(2026, 1, 31)
LOAD_DATE = date(2026, 2, 1)
# the stream of each vendor that spans several pages at page size 7
PAGED_STREAMS = {
    "matomo": "visits",
    "mailchimp": "members",
    "shopify": "orders",
    "zendesk": "tickets",
}


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dataset(tmp_path_factory.mktemp("vendor") / "dataset")


@pytest.fixture(scope="session")
def expected(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable:
    """The deduplicated landing of the whole dataset (ground truth for every extraction)."""
    root = tmp_path_factory.mktemp("expected")
    land_vendor_dataset(dataset, root / "landing", root / "quarantine", "expected")

    def frame(source: str, stream: str) -> pl.DataFrame:
        return comparable(deduplicate(read_landing(root / "landing", source, stream)))

    return frame


@pytest.fixture
def sandbox(dataset: Path) -> Iterator[Callable[..., SandboxServer]]:
    servers: list[SandboxServer] = []

    def start(faults: list[Fault] | None = None, **options) -> SandboxServer:
        server = SandboxServer(dataset, faults=faults, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def make_settings(
    server: SandboxServer | None, data_dir: Path, drop_dir: Path | None = None, **extra: str
) -> Settings:
    env = {
        "JOURNEY_DATA_DIR": str(data_dir),
        "JOURNEY_PARTITIONS_START": "2025-12-01",
        "JOURNEY_HTTP_PAGE_SIZE": "7",
        "JOURNEY_HTTP_TIMEOUT_SECONDS": "2",
        "JOURNEY_HTTP_MAX_RETRIES": "3",
        "JOURNEY_HTTP_BACKOFF_SECONDS": "0.01",
        "JOURNEY_HTTP_BACKOFF_MAX_SECONDS": "0.05",
        **(server.env() if server else {}),
        **extra,
    }
    if drop_dir is not None:
        env["JOURNEY_DROP_DIR"] = str(drop_dir)
    return Settings.from_env(env)


def full_window(settings: Settings, source: str) -> ExtractionWindow:
    return plan_window(settings, source, first_day=LAST_DAY, last_day=LAST_DAY, full_refresh=True)


def run(settings: Settings, source: str, run_id: str = "run-1", **options) -> list[StreamResult]:
    window = options.pop("window", None) or full_window(settings, source)
    return extract_source(
        source, settings, window=window, run_id=run_id, load_date=LOAD_DATE, **options
    )


def comparable(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(COMPARED).sort(["record_id", "_record_hash"])


def landed(settings: Settings, source: str, stream: str) -> pl.DataFrame:
    return read_landing(settings.landing_dir, source, stream)


def assert_deduplicated_equal(actual: pl.DataFrame, expected: pl.DataFrame) -> None:
    assert_frame_equal(comparable(deduplicate(actual)), expected)
