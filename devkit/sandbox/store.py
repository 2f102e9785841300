"""The sandbox's copy of a vendor dataset (docs/contracts.md §2) and its paging primitives.

All versions of every stream are held as Polars frames; what is served at the clock time comes
from `devkit.vendor_dataset.served_versions` (cached per clock and data version).
Pages are slices of those sorted frames found by binary search on `updated_at` or by keyset
position; record texts are joined into response bodies without being parsed.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from devkit.vendor_dataset import (
    PARENT_STREAMS,
    VENDOR_SCHEMA,
    VENDOR_SOURCES,
    dataset_end,
    read_vendor_stream,
    served_versions,
)
from pipelines.extract.streams import stream_spec, streams_of


@dataclass(frozen=True)
class Key:
    """A row's position in the serving order (updated_at, record_id, seq)."""

    updated_us: int
    record_id: str
    seq: int

    def as_json(self) -> list:
        return [self.updated_us, self.record_id, self.seq]

    @classmethod
    def from_json(cls, value: list) -> Key:
        return cls(int(value[0]), str(value[1]), int(value[2]))


class VendorStore:
    """`sources`: the vendors whose streams are loaded; the others serve empty streams (a
    benchmark at 1M persons cannot hold all four vendors' records in memory)."""

    def __init__(
        self,
        dataset_dir: Path,
        clock: datetime | None = None,
        sources: tuple[str, ...] = VENDOR_SOURCES,
    ) -> None:
        self.dataset_dir = Path(dataset_dir)
        self._frames: dict[tuple[str, str], pl.DataFrame] = {
            (source, stream): (
                read_vendor_stream(self.dataset_dir, source, stream)
                if source in sources
                else VENDOR_SCHEMA.to_frame().with_row_index("seq")
            )
            for source in VENDOR_SOURCES
            for stream in streams_of(source)
        }
        has_rows = any(frame.height for frame in self._frames.values())
        default = dataset_end(self.dataset_dir) if has_rows else datetime.now(UTC)
        self._clock = _utc(clock) if clock else default
        self._version = 0
        self._lock = threading.Lock()
        self._served: dict[tuple[str, str], tuple[tuple, pl.DataFrame]] = {}
        self._children: dict[tuple[str, str], tuple[tuple, dict[str, pl.DataFrame]]] = {}

    # ---- state --------------------------------------------------------------------------------

    @property
    def clock(self) -> datetime:
        return self._clock

    def set_clock(self, moment: datetime) -> None:
        with self._lock:
            self._clock = _utc(moment)

    def upsert(
        self,
        source: str,
        stream: str,
        record: dict | str,
        *,
        updated_at: datetime,
        record_id: str | None = None,
        parent_id: str | None = None,
    ) -> None:
        """Add a version of a record (visible once the clock reaches `updated_at`)."""
        parsed = json.loads(record) if isinstance(record, str) else record
        text = record if isinstance(record, str) else json.dumps(record)
        spec = stream_spec(source, stream)
        if record_id is None:
            record_id = ":".join(str(parsed[name]) for name in spec.key_fields)
        if parent_id is None and (source, stream) in PARENT_STREAMS:
            parent_field = "ticket_id" if source == "zendesk" else "campaign_id"
            parent_id = str(parsed[parent_field])
        with self._lock:
            frame = self._frames[(source, stream)]
            seq = int(frame.get_column("seq").max() or 0) + 1 if frame.height else 0
            row = pl.DataFrame(
                {
                    "seq": [seq],
                    "record_id": [record_id],
                    "parent_id": [parent_id],
                    "updated_at": [_utc(updated_at)],
                    "record": [text],
                },
                schema={"seq": frame.schema["seq"], **VENDOR_SCHEMA},
            )
            self._frames[(source, stream)] = pl.concat([frame, row])
            self._version += 1

    def first_value(self, source: str, stream: str, path: str, default: str) -> str:
        """A field of the first record of a stream (e.g. the list id), for `env()`."""
        frame = self._frames[(source, stream)]
        if frame.height == 0:
            return default
        value = frame.get_column("record").head(1).str.json_path_match(path).item()
        return value if value else default

    # ---- what is served -----------------------------------------------------------------------

    def served(self, source: str, stream: str) -> pl.DataFrame:
        """Served rows at the clock, sorted by (updated_at, record_id, seq), with `updated_us`."""
        with self._lock:
            stamp = (self._clock, self._version)
            cached = self._served.get((source, stream))
            if cached and cached[0] == stamp:
                return cached[1]
            frame = served_versions(self._frames[(source, stream)], self._clock).with_columns(
                updated_us=pl.col("updated_at").dt.epoch("us")
            )
            self._served[(source, stream)] = (stamp, frame)
            return frame

    def children(self, source: str, stream: str, parent_id: str) -> pl.DataFrame:
        """Served rows of a per-parent stream (Mailchimp reports of one campaign)."""
        frame = self.served(source, stream)
        with self._lock:
            stamp = (self._clock, self._version)
            cached = self._children.get((source, stream))
            if not cached or cached[0] != stamp:
                parts = frame.partition_by("parent_id", as_dict=True, maintain_order=True)
                cached = (stamp, {key[0]: part for key, part in parts.items()})
                self._children[(source, stream)] = cached
        return cached[1].get(parent_id, frame.clear())


# ---- paging primitives ------------------------------------------------------------------------


def since(
    frame: pl.DataFrame,
    lower: datetime | None,
    *,
    inclusive: bool,
    upper: datetime | None = None,
    upper_inclusive: bool = True,
) -> pl.DataFrame:
    """Rows with updated_at after `lower` (and up to `upper`), by binary search."""
    column = frame.get_column("updated_us")
    start, stop = 0, frame.height
    if lower is not None:
        side = "left" if inclusive else "right"
        start = int(column.search_sorted(_micros(lower), side=side))
    if upper is not None:
        side = "right" if upper_inclusive else "left"
        stop = int(column.search_sorted(_micros(upper), side=side))
    return frame.slice(start, max(stop - start, 0))


def position_after(frame: pl.DataFrame, key: Key | None) -> int:
    """Index of the first row strictly after `key` in serving order (0 when key is None)."""
    if key is None:
        return 0
    column = frame.get_column("updated_us")
    low = int(column.search_sorted(key.updated_us, side="left"))
    high = int(column.search_sorted(key.updated_us, side="right"))
    ties = frame.slice(low, high - low)
    before = ties.filter(
        (pl.col("record_id") < key.record_id)
        | ((pl.col("record_id") == key.record_id) & (pl.col("seq") <= key.seq))
    ).height
    return low + before


def key_of(frame: pl.DataFrame, index: int) -> Key:
    row = frame.row(index, named=True)
    return Key(row["updated_us"], row["record_id"], row["seq"])


@dataclass(frozen=True)
class KeysetPage:
    rows: pl.DataFrame
    """The page (with any duplicated rows before it)."""
    last_key: list | None
    """Where the next page starts: the key of the page's last row (the incoming key if none)."""
    has_more: bool


def keyset_page(
    frame: pl.DataFrame, key: list | None, limit: int, *, duplicates: int = 0, empty: bool = False
) -> KeysetPage:
    """The page of `limit` rows after `key` (a `Key.as_json()` or None for the first page).

    With `empty`, an empty page that does not advance: the next page starts where this one did.
    """
    start = position_after(frame, Key.from_json(key) if key else None)
    if empty:
        return KeysetPage(frame.clear(), key, True)
    last = min(start + limit, frame.height) - 1
    return KeysetPage(
        page_rows(frame, start, limit, duplicates),
        key_of(frame, last).as_json() if last >= start else key,
        start + limit < frame.height,
    )


def page_rows(frame: pl.DataFrame, start: int, limit: int, duplicates: int = 0) -> pl.DataFrame:
    """`limit` rows from `start`; with `duplicates`, also the rows just before (served twice)."""
    extra = min(duplicates, start)
    return frame.slice(start - extra, limit + extra)


def join_records(frame: pl.DataFrame) -> str:
    """The rows' record texts joined with commas, as they are stored (never parsed)."""
    if frame.height == 0:
        return ""
    return frame.get_column("record").str.join(",").item()


def _micros(moment: datetime) -> int:
    return int(_utc(moment).timestamp() * 1_000_000)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
