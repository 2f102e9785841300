"""Publish a build as a new generation, atomically, and roll back on demand.

Readers (BI tools, analysts) only ever open `JOURNEY_WAREHOUSE_PATH`, the Parquet exports under
`{export_dir}/current`, and (when configured) the PostgreSQL schemas. A publish:

1. writes a new generation (`generations.py`): the analyst surface as a fresh DuckDB file
   (`surface.py`: tables only, comments; each table's grain recorded), the full build file and
   the identity step's state (`identity_state.py`) as the private state of the next night, and
   the Parquet exports — all durable before anything
   published changes, and beside their targets, so no rename ever crosses a filesystem;
2. loads the surface into PostgreSQL's `__next` schemas (when configured). If this fails,
   nothing is published anywhere and the step fails: DuckDB and PostgreSQL keep serving the
   same, previous night;
3. commits: one atomic rename of the generation pointer; the old current generation becomes
   the previous one (unless the erasure list names a person it holds: then it is discarded,
   with its exports, its build state and its PostgreSQL copy);
4. materialises the pointer (published file, rollback file, export links: one rename each),
   then swaps PostgreSQL in one transaction. A failure here leaves DuckDB on the new night and
   PostgreSQL on the old one: the step fails saying so, and the next publish, rollback or
   build completes the swap (`recover`).

A crash at any point leaves every published path a whole generation (old or new); the next
run completes or discards what was in flight. Rollback is the same transition backwards.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.errors import JourneyError
from pipelines.settings import Settings
from pipelines.warehouse.build import BuildLock
from pipelines.warehouse.dbt_runner import dbt_target_path, ensure_manifest
from pipelines.warehouse.durable import fsync_dir, fsync_tree, place_file
from pipelines.warehouse.faults import fault_point
from pipelines.warehouse.generations import (
    Generation,
    Pointer,
    begin_generation,
    collect_garbage,
    finish_generation,
    generations_dir,
    load_generation,
    materialise,
    new_generation_id,
    read_pointer,
    recover,
    settle,
    write_pointer,
)
from pipelines.warehouse.identity_state import place_identity_state
from pipelines.warehouse.postgres import PostgresError, PostgresTarget
from pipelines.warehouse.surface import (
    PUBLISHED_SCHEMAS,
    SurfaceSpec,
    build_published_file,
    export_tables,
    grains,
)

__all__ = ["PUBLISHED_SCHEMAS", "PublishError", "PublishResult", "publish", "rollback"]


class PublishError(JourneyError):
    """The build cannot be published, or there is nothing to roll back to (the message says
    why and what to do)."""


@dataclass
class PublishResult:
    warehouse_path: Path
    previous_path: Path | None
    export_dir: Path
    generation: str
    tables: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    postgres: str = "off"
    previous_discarded: str | None = None


@dataclass
class RollbackResult:
    warehouse_path: Path
    generation: str
    run_id: str
    created_at: str
    postgres: str = "off"
    completed_interrupted: bool = False


def surface_spec(settings: Settings) -> SurfaceSpec:
    """Grains and export partitions of the dbt project this run built (its manifest)."""
    manifest = dbt_target_path(settings) / "manifest.json"
    return SurfaceSpec.from_manifest(manifest if manifest.exists() else ensure_manifest())


def publish(settings: Settings, *, run_id: str, spec: SurfaceSpec | None = None) -> PublishResult:
    """Publish the run's build as a new generation (module docstring); idempotent per run."""
    started = time.monotonic()
    target = _postgres(settings)
    pointer, _ = _recover(settings, target)
    if pointer is not None and _run_of(settings, pointer.current) == run_id:
        # a retry of a step whose publish had already committed: nothing left to do
        return _result(settings, pointer, target, started)
    build = settings.build_warehouse_path
    if not build.exists():
        raise PublishError(f"no staging warehouse at {build}: the build step did not run")
    _checkpoint(build)
    generation = _write_generation(settings, build, run_id, spec or surface_spec(settings))
    fault_point("publish:generation-written")

    previous, discarded = pointer.current if pointer else None, None
    erased = _erased_persons_in(settings, previous) if previous else 0
    if erased:
        previous = None
        discarded = (
            f"generation {pointer.current} held {erased} person(s) on the erasure list; "
            f"discarded by run {run_id}"
        )
    if target is not None:
        try:
            target.stage(generation)
        except PostgresError as error:
            raise PublishError(
                f"{error}; nothing was published: DuckDB and PostgreSQL still serve the previous "
                "night. Fix PostgreSQL and re-run the night"
            ) from None
    fault_point("publish:postgres-staged")

    pointer = _transition(
        settings, target, Pointer(generation.id, previous, "publish", run_id, discarded)
    )
    fault_point("publish:settled")
    for leftover in (build, build.with_suffix(build.suffix + ".wal")):
        leftover.unlink(missing_ok=True)
    collect_garbage(settings, pointer)
    BuildLock(settings.build_dir / ".lock", run_id).release()
    return _result(settings, pointer, target, started)


def rollback(settings: Settings) -> RollbackResult:
    """Make the previous generation live again (DuckDB file, exports, PostgreSQL); the current
    one becomes the previous, so a second rollback undoes the first. After a crash during a
    rollback, running it again completes that rollback instead of undoing it."""
    lock = BuildLock.acquire(settings.build_dir, f"rollback-{os.getpid()}")
    try:
        target = _postgres(settings)
        pointer, interrupted = _recover(settings, target)
        if pointer is None:
            raise PublishError(
                f"nothing to roll back to: nothing has been published at "
                f"{settings.warehouse_path} yet"
            )
        if interrupted and pointer.operation == "rollback":
            return _rollback_result(settings, pointer, target, completed=True)
        if pointer.previous is None:
            reason = pointer.previous_discarded or "only one generation has been published so far"
            raise PublishError(
                f"nothing to roll back to: no previous generation is kept ({reason})"
            )
        erased = _erased_persons_in(settings, pointer.previous)
        if erased:
            raise PublishError(
                f"refusing to roll back: the previous generation {pointer.previous} holds "
                f"{erased} person(s) on the erasure list (JOURNEY_ERASURE_FILE)"
            )
        if target is not None:
            try:
                target.stage(load_generation(settings, pointer.previous))
            except PostgresError as error:
                raise PublishError(f"{error}; nothing was rolled back") from None
        fault_point("rollback:postgres-staged")
        pointer = _transition(
            settings, target, Pointer(pointer.previous, pointer.current, "rollback", pointer.run_id)
        )
        collect_garbage(settings, pointer)
        return _rollback_result(settings, pointer, target, completed=False)
    finally:
        lock.release()


# --- steps ------------------------------------------------------------------------------------


def _transition(settings: Settings, target: PostgresTarget | None, pointer: Pointer) -> Pointer:
    """Commit the new pointer (the atomic step), show it on every path, swap PostgreSQL, and
    record that it is settled."""
    write_pointer(settings, pointer)
    fault_point(f"{pointer.operation}:committed")
    materialise(settings, pointer)
    fault_point(f"{pointer.operation}:materialised")
    _sync_postgres(settings, target, pointer, pointer.operation)
    return settle(settings, pointer)


def _write_generation(
    settings: Settings, build: Path, run_id: str, spec: SurfaceSpec
) -> Generation:
    """The new generation, complete and durable, under its final name (nothing published yet)."""
    generation_id = new_generation_id(run_id)
    folder = begin_generation(settings, generation_id)
    tables = build_published_file(build, folder / "published.duckdb", spec, settings.duckdb_limits)
    fault_point("publish:surface-written")
    place_file(build, folder / "build.duckdb")
    place_identity_state(settings.build_identity_dir, folder)  # the identity night's state
    fault_point("publish:state-placed")
    exports = settings.export_dir / generation_id
    partial = exports.with_name(exports.name + ".tmp")
    export_tables(folder / "published.duckdb", partial, spec)
    fsync_tree(partial)
    os.replace(partial, exports)
    fsync_dir(exports.parent)
    fault_point("publish:exports-written")
    return finish_generation(
        settings,
        Generation(
            id=generation_id,
            folder=generations_dir(settings) / generation_id,
            run_id=run_id,
            created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            exports=exports.name,
            tables=tables,
            keys=grains(spec, tables),
        ),
    )


def _checkpoint(build: Path) -> None:
    """Fold the build's write-ahead log into the file (the state copy is the file alone)."""
    try:
        con = duckdb.connect(str(build))
    except duckdb.Error as error:
        raise PublishError(f"cannot open the staging warehouse {build}: {error}") from None
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    wal = build.with_suffix(build.suffix + ".wal")
    if wal.exists():
        raise PublishError(f"{wal} still exists after checkpoint; refusing to publish")


def _postgres(settings: Settings) -> PostgresTarget | None:
    return PostgresTarget(settings.postgres_url) if settings.postgres_url else None


def _recover(settings: Settings, target: PostgresTarget | None) -> tuple[Pointer | None, bool]:
    """Complete an interrupted transition (files, then PostgreSQL) before starting a new one;
    True when one was in flight."""
    pointer, unsettled = recover(settings)
    if pointer is None:
        return None, False
    if target is not None:
        try:
            _reconcile(settings, target, pointer)
        except PostgresError as error:
            raise PublishError(
                f"{error}; nothing was changed: DuckDB serves generation {pointer.current} and "
                "PostgreSQL what it served before. Fix PostgreSQL and run again"
            ) from None
    return settle(settings, pointer), unsettled


def _sync_postgres(
    settings: Settings, target: PostgresTarget | None, pointer: Pointer, operation: str
) -> None:
    """The PostgreSQL swap after a committed transition; a failure names the disagreement."""
    if target is None:
        return
    try:
        _reconcile(settings, target, pointer)
    except PostgresError as error:
        raise PublishError(
            f"{error}; DuckDB serves generation {pointer.current} but PostgreSQL does not yet "
            f"({operation} incomplete). The next publish or rollback completes the PostgreSQL "
            "side; until then the two disagree"
        ) from None


def _reconcile(settings: Settings, target: PostgresTarget, pointer: Pointer) -> None:
    target.reconcile(
        pointer.current, pointer.previous, lambda generation: load_generation(settings, generation)
    )


def _erased_persons_in(settings: Settings, generation_id: str) -> int:
    """How many persons of a generation's published file the current erasure list erases."""
    if settings.erasure_file is None:
        return 0
    import polars as pl

    from pipelines.identity.erasure import read_erasure_file
    from pipelines.identity.published import published_identifiers
    from pipelines.identity.rules import load_rules

    erasures = read_erasure_file(settings.erasure_file)
    if erasures is None or erasures.is_empty():
        return 0
    keys = published_identifiers(
        erasures.select(
            pl.col("identifier_kind").alias("kind"), pl.col("identifier_value").alias("raw_value")
        ),
        load_rules(),
        settings.pseudonymize_key,
    ).select(pl.col("kind").cast(pl.String), pl.col("value").cast(pl.String))
    path = load_generation(settings, generation_id).published_file
    con = duckdb.connect(str(path), read_only=True)
    try:
        has_map = con.execute(
            "select count(*) from duckdb_tables() "
            "where schema_name = 'identity' and table_name = 'identity_map'"
        ).fetchone()[0]
        if not has_map:
            return 0
        con.register("erased_keys", keys.to_arrow())
        return con.execute(
            "select count(distinct person_id) from identity.identity_map as m "
            "join erased_keys as k on m.identifier_kind = k.kind and m.identifier_value = k.value"
        ).fetchone()[0]
    finally:
        con.close()


def _run_of(settings: Settings, generation_id: str) -> str:
    return load_generation(settings, generation_id).run_id


def _postgres_status(target: PostgresTarget | None, generation: str) -> str:
    return "off" if target is None else f"generation {generation}"


def _result(
    settings: Settings, pointer: Pointer, target: PostgresTarget | None, started: float
) -> PublishResult:
    current = load_generation(settings, pointer.current)
    return PublishResult(
        warehouse_path=settings.warehouse_path,
        previous_path=settings.previous_warehouse_path if pointer.previous else None,
        export_dir=settings.export_dir / "current",
        generation=current.id,
        tables=current.tables,
        seconds=time.monotonic() - started,
        postgres=_postgres_status(target, current.id),
        previous_discarded=pointer.previous_discarded,
    )


def _rollback_result(
    settings: Settings, pointer: Pointer, target: PostgresTarget | None, *, completed: bool
) -> RollbackResult:
    current = load_generation(settings, pointer.current)
    return RollbackResult(
        warehouse_path=settings.warehouse_path,
        generation=current.id,
        run_id=current.run_id,
        created_at=current.created_at,
        postgres=_postgres_status(target, current.id),
        completed_interrupted=completed,
    )


def current_generation(settings: Settings) -> Generation | None:
    """The live generation per the pointer (None before the first publish)."""
    pointer = read_pointer(settings)
    return load_generation(settings, pointer.current) if pointer else None
