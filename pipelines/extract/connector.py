"""What every vendor connector offers the runner.

A connector knows its vendor's requests and pagination and nothing about landing: it yields
`Page`s of minified record texts per landing stream. The runner validates, lands and moves the
cursor. Streams fetched by the same requests form a group (Zendesk tickets and their side-loaded
metric sets), landed and completed together.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import polars as pl

from pipelines.extract.errors import PaginationError
from pipelines.extract.http import HttpClient


@dataclass(frozen=True)
class ExtractionWindow:
    start: datetime
    end: datetime
    full_refresh: bool


@dataclass(frozen=True)
class Page:
    records: dict[str, pl.Series]
    """Landing stream → the page's record texts (minified JSON)."""
    received_at: datetime


class Connector(Protocol):
    source: str
    groups: tuple[tuple[str, ...], ...]

    def pages(self, group: tuple[str, ...], window: ExtractionWindow) -> Iterator[Page]: ...

    def close(self) -> None: ...


def iso_utc(moment: datetime) -> str:
    """`2026-03-04T10:11:12+00:00`: the form Mailchimp and Shopify filters take."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


class EmptyPageGuard:
    """Counts consecutive empty pages that do not advance pagination.

    An empty page whose next position equals the current one would loop forever; after the
    client's retry budget such pages fail the stream instead (each retry waits a backoff).
    """

    def __init__(self, client: HttpClient, stream: str) -> None:
        self.client = client
        self.stream = stream
        self.count = 0

    def stalled(self, is_empty: bool, position: str) -> bool:
        """True when the page should be asked for again (after a pause); raises past the bound."""
        if not is_empty:
            self.count = 0
            return False
        self.count += 1
        if self.count > self.client.settings.max_retries:
            raise PaginationError(
                f"{self.client.source}/{self.stream}: {self.count} empty pages in a row at "
                f"{position} without advancing; the vendor's pagination is stuck, re-run later",
                source=self.client.source,
                stream=self.stream,
            )
        self.client.pause(self.count)
        return True
