"""Generations: each publish is a new, immutable folder; one pointer file says which is live.

Layout (W = the folder of JOURNEY_WAREHOUSE_PATH, N = its file name, E = JOURNEY_EXPORT_DIR):

    W/.generations/                private (mode 0700)
        pointer.json               {"current": id, "previous": id or null, "operation": ...}
        <id>/published.duckdb      the analyst surface of that generation (tables only)
        <id>/build.duckdb          the full build file: the private state the next night starts from
        <id>/identity/             the identity night's state and tables (identity_state.py)
        <id>/generation.json       run id, time, rows and grain of each table, its export folder
    W/N                            hard link to .generations/<current>/published.duckdb
    W/<stem>.previous<suffix>      hard link to .generations/<previous>/published.duckdb
    E/<export folder>/             a generation's Parquet exports
    E/current, E/previous          symlinks to the export folders of the two generations

The pointer is the one source of truth and changes with one `rename(2)`, so every transition
(publish, rollback, the discarding of a generation) is atomic. The paths readers open are
*materialised* from it, each with one atomic rename, and materialising again is a no-op: after
a crash at any point every path is a whole generation, old or new, and `recover` (run first by
every build, publish and rollback) completes what the pointer says. Generations are immutable
once written; a generation no longer named by the pointer is deleted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from pipelines.errors import JourneyError
from pipelines.settings import Settings
from pipelines.warehouse.durable import (
    fsync_dir,
    fsync_tree,
    link_durably,
    place_file,
    remove_durably,
    same_file,
    write_text_durably,
)
from pipelines.warehouse.faults import fault_point

GENERATIONS_FOLDER = ".generations"
POINTER_FILE = "pointer.json"
PUBLISHED_FILE = "published.duckdb"
STATE_FILE = "build.duckdb"
MANIFEST_FILE = "generation.json"


class GenerationError(JourneyError):
    """The generations folder is not what the pointer says (the message names the path)."""


@dataclass(frozen=True)
class Pointer:
    """Which generation is live and which is kept for rollback."""

    current: str
    previous: str | None = None
    operation: str = "publish"  # publish | rollback | adopt
    run_id: str | None = None
    previous_discarded: str | None = None  # why no previous generation is kept, when so
    settled: bool = False  # every published path (and PostgreSQL) shows this pointer


@dataclass(frozen=True)
class Generation:
    id: str
    folder: Path
    run_id: str
    created_at: str
    exports: str | None = None  # folder name under the export dir
    tables: dict[str, int] = field(default_factory=dict)
    keys: dict[str, list[str]] = field(default_factory=dict)  # grain of each `schema.table`

    @property
    def published_file(self) -> Path:
        return self.folder / PUBLISHED_FILE

    @property
    def state_file(self) -> Path:
        return self.folder / STATE_FILE


def generations_dir(settings: Settings) -> Path:
    return settings.warehouse_path.parent / GENERATIONS_FOLDER


def new_generation_id(run_id: str) -> str:
    """Sortable by time, readable, and naming the run: `20261206T021503123456Z-015cf204`."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{re.sub(r'[^A-Za-z0-9_-]', '_', run_id)[:12]}"


def read_pointer(settings: Settings) -> Pointer | None:
    path = generations_dir(settings) / POINTER_FILE
    try:
        return Pointer(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, TypeError) as error:
        raise GenerationError(
            f"{path} is unreadable ({error}); it is written atomically, so something else "
            "changed it: restore it from a backup or delete it to start a fresh history"
        ) from error


def write_pointer(settings: Settings, pointer: Pointer) -> None:
    """The commit point of every transition: one durable, atomic rename."""
    write_text_durably(generations_dir(settings) / POINTER_FILE, json.dumps(asdict(pointer)))


def load_generation(settings: Settings, generation_id: str) -> Generation:
    folder = generations_dir(settings) / generation_id
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise GenerationError(
            f"generation {generation_id} named by {generations_dir(settings) / POINTER_FILE} "
            f"is missing ({folder}); restore the folder from a backup, or run a full refresh "
            "(`python -m pipelines run --full-refresh`)"
        ) from error
    return Generation(id=generation_id, folder=folder, **manifest)


def begin_generation(settings: Settings, generation_id: str) -> Path:
    """An empty folder to write a generation into (renamed into place by `finish_generation`)."""
    root = generations_dir(settings)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = root / f"{generation_id}.tmp"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    return folder


def finish_generation(settings: Settings, generation: Generation) -> Generation:
    """Write the manifest, make every byte durable, rename the folder into place."""
    folder = generations_dir(settings) / f"{generation.id}.tmp"
    manifest = {k: v for k, v in asdict(generation).items() if k not in ("id", "folder")}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    fsync_tree(folder)
    os.replace(folder, generation.folder)
    fsync_dir(generation.folder.parent)
    return generation


def previous_path(settings: Settings) -> Path:
    return settings.previous_warehouse_path


def materialise(settings: Settings, pointer: Pointer) -> bool:
    """Make the published paths show what the pointer says; True if anything had to change.

    Order: the previous paths first, then the current ones, so the rollback copy is in place
    before the published one moves. Each step is atomic and skipped when already done."""
    current = load_generation(settings, pointer.current)
    previous = load_generation(settings, pointer.previous) if pointer.previous else None
    changed = False
    rollback_path = previous_path(settings)
    if previous is None:
        if rollback_path.exists() or rollback_path.is_symlink():
            remove_durably(rollback_path)
            changed = True
    elif not same_file(rollback_path, previous.published_file):
        place_file(previous.published_file, rollback_path)
        changed = True
    fault_point("materialise:previous-file")
    if not same_file(settings.warehouse_path, current.published_file):
        place_file(current.published_file, settings.warehouse_path)
        changed = True
    fault_point("materialise:published-file")
    export_root = settings.export_dir
    for link_name, generation in (("previous", previous), ("current", current)):
        link = export_root / link_name
        wanted = generation.exports if generation else None
        if _link_target(link) == wanted:
            continue
        changed = True
        if wanted is None:
            remove_durably(link)
        else:
            export_root.mkdir(parents=True, exist_ok=True)
            link_durably(link, wanted)
        fault_point(f"materialise:exports-{link_name}")
    return changed


def collect_garbage(settings: Settings, pointer: Pointer) -> None:
    """Delete every generation and export folder the pointer no longer names (and leftovers of
    interrupted writes). Runs only under the build lock, so nothing is being written."""
    kept = [load_generation(settings, g) for g in (pointer.current, pointer.previous) if g]
    names = {generation.id for generation in kept}
    root = generations_dir(settings)
    for child in root.iterdir():
        if child.is_dir() and child.name not in names:
            shutil.rmtree(child)
        elif child.is_file() and child.name.endswith(".tmp"):
            child.unlink()
    exports = {generation.exports for generation in kept if generation.exports}
    if settings.export_dir.is_dir():
        for child in settings.export_dir.iterdir():
            if child.is_dir() and not child.is_symlink() and child.name not in exports:
                shutil.rmtree(child)


def recover(settings: Settings) -> tuple[Pointer | None, bool]:
    """Complete the file side of whatever transition a crash interrupted; return the pointer
    and whether it was unsettled (a transition was in flight). A warehouse published before
    generations existed is adopted as one (its rollback copy and incremental state are kept)."""
    pointer = read_pointer(settings) or _adopt_legacy(settings)
    if pointer is None:
        return None, False
    materialise(settings, pointer)
    collect_garbage(settings, pointer)
    return pointer, not pointer.settled


def settle(settings: Settings, pointer: Pointer) -> Pointer:
    """Record that the pointer's transition is complete everywhere (files and PostgreSQL)."""
    if pointer.settled:
        return pointer
    settled = replace(pointer, settled=True)
    write_pointer(settings, settled)
    return settled


def _link_target(link: Path) -> str | None:
    return os.readlink(link) if link.is_symlink() else None


def _adopt_legacy(settings: Settings) -> Pointer | None:
    """A published file from before generations: it was a byte copy of the whole build, so it
    serves as both the published file and the state of its generation."""
    adopted: dict[str, str] = {}
    for role, path in (("current", settings.warehouse_path), ("previous", previous_path(settings))):
        if not path.is_file() or path.is_symlink():
            continue
        generation_id = new_generation_id(f"adopted-{role}")
        generation = Generation(
            id=generation_id,
            folder=generations_dir(settings) / generation_id,
            run_id=f"adopted-{role}",
            created_at=datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(),
            exports=_link_target(settings.export_dir / role),
        )
        folder = begin_generation(settings, generation_id)
        place_file(path, folder / PUBLISHED_FILE)
        place_file(path, folder / STATE_FILE)
        finish_generation(settings, generation)
        adopted[role] = generation.id
    if "current" not in adopted:
        return None
    pointer = Pointer(adopted["current"], adopted.get("previous"), operation="adopt", settled=True)
    write_pointer(settings, pointer)
    return pointer
