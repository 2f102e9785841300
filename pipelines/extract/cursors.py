"""Per-stream cursors: `{data_dir}/state/cursors/{source}__{stream}.json` (contracts §3).

A cursor records how far a stream is known to be completely landed (`value`, the end of the
last fully extracted window; it never moves back) and, for file drops, which files were landed.
It is written atomically, and only after the stream's files are durably in landing, so a crash
leaves the previous cursor and the next run extracts the same window again.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.extract.errors import StateError
from pipelines.extract.landing import fsync_directory


@dataclass(frozen=True)
class Cursor:
    source: str
    stream: str
    value: datetime | None
    run_id: str
    written_at: datetime
    files: tuple[dict[str, Any], ...] = field(default=())
    """Drop files dealt with (file drops only): `{"name", "size", "sha256", "status"}`,
    status `landed` (the default of older entries), `quarantined` or `refused` (+ `reason`)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "stream": self.stream,
            "value": self.value.isoformat() if self.value else None,
            "run_id": self.run_id,
            "written_at": self.written_at.isoformat(),
            "files": list(self.files),
        }


def cursor_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "cursors"


def cursor_path(state_dir: Path, source: str, stream: str) -> Path:
    return cursor_dir(state_dir) / f"{source}__{stream}.json"


def read_cursor(state_dir: Path, source: str, stream: str) -> Cursor | None:
    path = cursor_path(state_dir, source, stream)
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text())
        value = raw.get("value")
        return Cursor(
            source=raw["source"],
            stream=raw["stream"],
            value=datetime.fromisoformat(value).astimezone(UTC) if value else None,
            run_id=raw["run_id"],
            written_at=datetime.fromisoformat(raw["written_at"]),
            files=tuple(raw.get("files") or ()),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise StateError(
            f"cursor file {path} is unreadable ({type(error).__name__}: {error}); delete it to "
            f"re-extract {source}/{stream} from the requested window (landing is deduplicated)",
            source=source,
            stream=stream,
        ) from error


def write_cursor(state_dir: Path, cursor: Cursor) -> Path:
    """Write `cursor` atomically (temporary file, fsync, rename, fsync of the folder)."""
    path = cursor_path(state_dir, cursor.source, cursor.stream)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(temporary, "w") as handle:
        json.dump(cursor.as_json(), handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    fsync_directory(path.parent)
    return path


def advance(
    previous: Cursor | None,
    *,
    source: str,
    stream: str,
    value: datetime,
    run_id: str,
    files: tuple[dict[str, Any], ...] = (),
) -> Cursor:
    """The cursor after a completed window ending at `value` (never moving back)."""
    kept = previous.value if previous and previous.value else None
    return Cursor(
        source=source,
        stream=stream,
        value=max(kept, value) if kept else value,
        run_id=run_id,
        written_at=datetime.now(UTC),
        files=(*(previous.files if previous else ()), *files),
    )


def remember_files(
    previous: Cursor | None, source: str, stream: str, run_id: str, files: list[dict[str, Any]]
) -> Cursor:
    """`previous` with `files` added to its ledger and its window value unchanged (written
    after each landed drop file, before the stream's window is complete)."""
    return Cursor(
        source=source,
        stream=stream,
        value=previous.value if previous else None,
        run_id=run_id,
        written_at=datetime.now(UTC),
        files=(*(previous.files if previous else ()), *files),
    )
