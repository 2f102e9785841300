"""The API the Dagster assets call: plan a window, extract a source, report per stream.

`extract_source` runs each stream group of a source: pages from the connector are validated
(`landing.validate_records`), landed through a `StreamWriter`, and only when the group's last
page is landed and its files are renamed into place is each stream's cursor advanced. Any
error leaves the cursors where they were, so the next run covers the same window again (the
pages already landed are deduplicated downstream). Streams pulled again night after night are
compacted once their files are in place (`compaction.py`), before the cursor moves.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path

from pipelines.console import announce, format_seconds
from pipelines.extract.compaction import COMPACTED, compact_stream
from pipelines.extract.connector import Connector, ExtractionWindow
from pipelines.extract.cursors import advance, read_cursor, remember_files, write_cursor
from pipelines.extract.errors import SchemaDriftError
from pipelines.extract.filedrop import DropLedger, land_drop_file, list_drop_files
from pipelines.extract.landing import (
    StreamWriter,
    ValidatedPage,
    ensure_landing_layout,
    ensure_quarantine_layout,
    validate_records,
)
from pipelines.extract.streams import SOURCES, stream_spec, streams_of
from pipelines.settings import SOURCE_VARIABLES, Settings

__all__ = [
    "SOURCES",
    "ExtractionWindow",
    "StreamResult",
    "extract_source",
    "plan_window",
    "streams_of",
]

log = logging.getLogger("journey.extract")
PROGRESS_LOG_SECONDS = 5.0

Progress = Callable[[dict], None]


@dataclass
class StreamResult:
    source: str
    stream: str
    status: str  # "landed" | "skipped"
    skipped_reason: str | None = None
    pages: int = 0
    records: int = 0
    quarantined: int = 0
    duplicates_in_batch: int = 0
    unknown_fields: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    records_per_second: float = 0.0
    retries: int = 0
    """HTTP retries (429, 5xx, timeouts, connection errors) while the stream was extracted."""
    cursor_before: str | None = None
    cursor_after: str | None = None
    files: list[str] = field(default_factory=list)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, day_time(0), tzinfo=UTC)


def plan_window(
    settings: Settings, source: str, *, first_day: date, last_day: date, full_refresh: bool
) -> ExtractionWindow:
    """The window to extract for partitions `first_day`..`last_day` (both included).

    start = min(stored cursor, first_day) - lookback; with no cursor yet, first_day - lookback;
    on a full refresh, `JOURNEY_PARTITIONS_START` (or first_day, when the range starts earlier).
    end = last_day + 1 day. The stored cursor of a source is the oldest of its streams' cursors.
    """
    if last_day < first_day:
        raise ValueError(f"last_day {last_day} is before first_day {first_day}")
    end = _midnight(last_day + timedelta(days=1))
    if full_refresh:
        return ExtractionWindow(_midnight(min(settings.partitions_start, first_day)), end, True)
    stored = [
        cursor.value
        for stream in streams_of(source)
        if (cursor := read_cursor(settings.state_dir, source, stream)) and cursor.value
    ]
    start = min([*stored, _midnight(first_day)])
    return ExtractionWindow(start - timedelta(days=settings.lookback_days), end, False)


def extract_source(
    source: str,
    settings: Settings,
    *,
    window: ExtractionWindow,
    run_id: str,
    load_date: date,
    progress: Progress | None = None,
) -> list[StreamResult]:
    """Extract every stream of `source` for `window` into landing; see the module docstring."""
    streams = streams_of(source)
    ensure_landing_layout(settings.landing_dir)
    ensure_quarantine_layout(settings.quarantine_dir)
    if source == "filedrop":
        if settings.drop_dir is None:
            return _skipped(source, streams, "JOURNEY_DROP_DIR is not set")
        return [
            _extract_drop_stream(stream, settings, window, run_id, load_date, progress)
            for stream in streams
        ]
    connector = make_connector(source, settings)
    if connector is None:
        variables = ", ".join(SOURCE_VARIABLES[source])
        return _skipped(source, streams, f"{source} is not configured (set {variables})")
    results: list[StreamResult] = []
    try:
        for group in connector.groups:
            results += _extract_group(
                connector, group, settings, window, run_id, load_date, progress
            )
    finally:
        connector.close()
    return results


def make_connector(source: str, settings: Settings) -> Connector | None:
    """The configured connector of `source`, or None when its settings are absent."""
    page_size = settings.http.page_size
    if source == "matomo" and settings.matomo:
        from pipelines.extract.matomo import MatomoConnector

        return MatomoConnector(settings.matomo, settings.http, page_size)
    if source == "mailchimp" and settings.mailchimp:
        from pipelines.extract.mailchimp import MailchimpConnector

        return MailchimpConnector(settings.mailchimp, settings.http, page_size)
    if source == "shopify" and settings.shopify:
        from pipelines.extract.shopify import ShopifyConnector

        return ShopifyConnector(settings.shopify, settings.http, page_size)
    if source == "zendesk" and settings.zendesk:
        from pipelines.extract.zendesk import ZendeskConnector

        return ZendeskConnector(settings.zendesk, settings.http, page_size)
    if source not in SOURCES:
        raise KeyError(f"unknown source {source!r}; sources are {', '.join(SOURCES)}")
    return None


def _skipped(source: str, streams: tuple[str, ...], reason: str) -> list[StreamResult]:
    log.info("%s: skipped (%s)", source, reason)
    return [StreamResult(source, stream, "skipped", skipped_reason=reason) for stream in streams]


class _Tracker:
    """Counts pages, records and retries of one stream; reports progress to the callback and,
    at most every PROGRESS_LOG_SECONDS, to the log (which the run's log and console show)."""

    def __init__(
        self,
        source: str,
        stream: str,
        progress: Progress | None,
        retries: Callable[[], int] = lambda: 0,
    ) -> None:
        self.result = StreamResult(source, stream, "landed")
        self.progress = progress
        self.started = time.perf_counter()
        self.last_log = self.started
        self.unknown: Counter[str] = Counter()
        self._retries = retries
        self._retries_before = retries()

    @property
    def retries(self) -> int:
        return self._retries() - self._retries_before

    def page(self, page: ValidatedPage) -> None:
        result = self.result
        result.pages += 1
        result.records += page.landing.height
        result.quarantined += page.quarantine.height
        unknown = page.landing.get_column("_unknown_fields").explode().drop_nulls()
        if unknown.len():
            self.unknown.update(dict(unknown.value_counts().iter_rows()))
        event = {
            "event": "page",
            "source": result.source,
            "stream": result.stream,
            "pages": result.pages,
            "records": result.records,
            "quarantined": result.quarantined,
            "retries": self.retries,
        }
        now = time.perf_counter()
        if now - self.last_log >= PROGRESS_LOG_SECONDS:
            self.last_log = now
            log.info(
                "%s/%s: %s pages, %s records so far (%s records/s, %d quarantined, %d retries)",
                result.source,
                result.stream,
                f"{result.pages:,}",
                f"{result.records:,}",
                f"{result.records / (now - self.started):,.0f}",
                result.quarantined,
                self.retries,
            )
        announce(
            f"extracting {result.source}/{result.stream}: {result.pages:,} pages, "
            f"{result.records:,} records so far"
        )
        if self.progress is not None:
            self.progress(event)

    def finish(self, writer: StreamWriter) -> StreamResult:
        result = self.result
        result.seconds = round(time.perf_counter() - self.started, 3)
        result.records_per_second = (
            round(result.records / result.seconds, 1) if result.seconds else 0.0
        )
        result.retries = self.retries
        result.duplicates_in_batch = writer.duplicates()
        result.unknown_fields = dict(sorted(self.unknown.items()))
        result.files = list(writer.files)
        log.info(
            "%s/%s: landed %s records (%d quarantined, %d duplicates in batch) in %d pages, "
            "%s, %s records/s, %d retries%s",
            result.source,
            result.stream,
            f"{result.records:,}",
            result.quarantined,
            result.duplicates_in_batch,
            result.pages,
            format_seconds(result.seconds),
            f"{result.records_per_second:,.0f}",
            result.retries,
            f"; unknown fields {result.unknown_fields}" if result.unknown_fields else "",
        )
        if self.progress is not None:
            self.progress({"event": "done", **_summary(result)})
        return result


def _summary(result: StreamResult) -> dict:
    return {
        "source": result.source,
        "stream": result.stream,
        "pages": result.pages,
        "records": result.records,
        "quarantined": result.quarantined,
        "records_per_second": result.records_per_second,
        "retries": result.retries,
    }


def _writer(
    settings: Settings, source: str, stream: str, run_id: str, load_date: date
) -> StreamWriter:
    return StreamWriter(
        landing_root=settings.landing_dir,
        quarantine_root=settings.quarantine_dir,
        source=source,
        stream=stream,
        run_id=run_id,
        load_date=load_date,
    )


def _extract_group(
    connector: Connector,
    group: tuple[str, ...],
    settings: Settings,
    window: ExtractionWindow,
    run_id: str,
    load_date: date,
    progress: Progress | None,
) -> list[StreamResult]:
    source = connector.source
    before = {stream: read_cursor(settings.state_dir, source, stream) for stream in group}
    writers = {stream: _writer(settings, source, stream, run_id, load_date) for stream in group}
    client = getattr(connector, "client", None)  # every HTTP connector keeps its HttpClient here

    def retries() -> int:
        return int(getattr(client, "retries", 0))

    trackers = {stream: _Tracker(source, stream, progress, retries) for stream in group}
    log.info(
        "%s/%s: extracting %s .. %s UTC%s",
        source,
        "+".join(group),
        f"{window.start:%Y-%m-%d %H:%M}",
        f"{window.end:%Y-%m-%d %H:%M}",
        " (full refresh)" if window.full_refresh else "",
    )
    announce(f"extracting {source}/{'+'.join(group)}: waiting for the first page")
    try:
        for page in connector.pages(group, window):
            for stream in group:
                texts = page.records.get(stream)
                if texts is None:
                    continue
                spec = stream_spec(source, stream)
                validated = validate_records(
                    spec, texts, run_id=run_id, extracted_at=page.received_at
                )
                if validated.missing_required:
                    writers[stream].flush()
                    raise SchemaDriftError(
                        f"{source}/{stream}: no record of a page carries required field(s) "
                        f"{', '.join(validated.missing_required)} (schema drift at the vendor?). "
                        f"Pages landed so far stay; the cursor is not advanced. Update "
                        f"config/streams/{source}.yml if the vendor renamed the field",
                        source=source,
                        stream=stream,
                    )
                writers[stream].add(validated)
                trackers[stream].page(validated)
        for stream in group:
            writers[stream].flush()
    except BaseException:
        # an unfinished file is deleted, never renamed into place; the cursors stay
        for writer in writers.values():
            writer.abort()
        raise
    for stream in group:
        mode = COMPACTED.get((source, stream))
        if mode is not None:
            done = compact_stream(settings.landing_dir, source, stream, mode)
            log.info(
                "%s/%s: compacted landing: %s rows replaced by newer ones removed "
                "(%d files rewritten, %d deleted)",
                source,
                stream,
                f"{done.rows_removed:,}",
                done.files_rewritten,
                done.files_deleted,
            )
    results = []
    for stream in group:
        cursor = advance(
            before[stream], source=source, stream=stream, value=window.end, run_id=run_id
        )
        write_cursor(settings.state_dir, cursor)
        result = trackers[stream].finish(writers[stream])
        result.cursor_before = _iso(before[stream].value if before[stream] else None)
        result.cursor_after = _iso(cursor.value)
        results.append(result)
    return results


def _extract_drop_stream(
    stream: str,
    settings: Settings,
    window: ExtractionWindow,
    run_id: str,
    load_date: date,
    progress: Progress | None,
) -> StreamResult:
    source = "filedrop"
    assert settings.drop_dir is not None
    folder = Path(settings.drop_dir) / stream
    if not folder.is_dir():
        result = StreamResult(source, stream, "skipped", skipped_reason=f"no drop folder {folder}")
        log.info("%s/%s: skipped (%s)", source, stream, result.skipped_reason)
        return result
    spec = stream_spec(source, stream)
    before = read_cursor(settings.state_dir, source, stream)
    ledger = DropLedger(before.files if before else ())
    writer = _writer(settings, source, stream, run_id, load_date)
    tracker = _Tracker(source, stream, progress)
    new_files: list[dict] = []
    for drop_file in list_drop_files(settings.drop_dir, stream):
        if ledger.knows(drop_file):
            continue
        try:
            handled = land_drop_file(
                spec, drop_file, writer, extracted_at=datetime.now(UTC), on_page=tracker.page
            )
            writer.flush()
        except BaseException:
            writer.abort()
            raise
        # remembered as soon as it is durably landed: a retried step or a re-run after a
        # later file failed never lands it again
        ledger.add(handled.entry)
        new_files.append(handled.entry)
        write_cursor(settings.state_dir, remember_files(before, source, stream, run_id, new_files))
    cursor = advance(
        before,
        source=source,
        stream=stream,
        value=window.end,
        run_id=run_id,
        files=tuple(new_files),
    )
    write_cursor(settings.state_dir, cursor)
    result = tracker.finish(writer)
    result.cursor_before = _iso(before.value if before else None)
    result.cursor_after = _iso(cursor.value)
    return result


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
