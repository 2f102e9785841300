"""Publish a staging warehouse atomically, keep the previous one, and roll back on demand.

Readers (BI tools, analysts) only ever open `JOURNEY_WAREHOUSE_PATH`. Publishing replaces
that path with one `rename(2)`: a reader sees the old file or the new one, never a half-built
state, and a reader that already has the old file open keeps reading it. The old file stays
at `<name>.previous.duckdb` for rollback.

The Parquet exports follow the same rule: each publish writes a new folder
`{export_dir}/<run_id>/` and then swaps the `{export_dir}/current` symlink to it.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.settings import Settings
from pipelines.warehouse.build import BuildLock

PUBLISHED_SCHEMAS = ("marts", "identity")


class PublishError(RuntimeError):
    """The staging warehouse cannot be published (the message says why)."""


@dataclass
class PublishResult:
    warehouse_path: Path
    previous_path: Path | None
    export_dir: Path
    tables: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def published_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(schema, table) of every table BI tools see, in a stable order."""
    rows = con.execute(
        """
        select table_schema, table_name
        from information_schema.tables
        where table_schema in ({}) and table_type = 'BASE TABLE'
        order by table_schema, table_name
        """.format(", ".join("?" for _ in PUBLISHED_SCHEMAS)),
        list(PUBLISHED_SCHEMAS),
    ).fetchall()
    return [(schema, table) for schema, table in rows]


def publish(settings: Settings, *, run_id: str) -> PublishResult:
    """Export the build's published schemas to Parquet and swap the build in."""
    started = time.monotonic()
    build = settings.build_warehouse_path
    if not build.exists():
        raise PublishError(f"no staging warehouse at {build}: the build step did not run")

    export_root = settings.export_dir
    run_exports = export_root / run_id
    shutil.rmtree(run_exports, ignore_errors=True)
    run_exports.mkdir(parents=True)

    con = duckdb.connect(str(build))
    try:
        tables = published_tables(con)
        if not tables:
            raise PublishError(f"{build} holds no tables in schemas {PUBLISHED_SCHEMAS}")
        counts: dict[str, int] = {}
        for schema, table in tables:
            counts[f"{schema}.{table}"] = con.execute(
                f'select count(*) from "{schema}"."{table}"'
            ).fetchone()[0]
            target = run_exports / f"{table}.parquet"
            con.execute(f'copy "{schema}"."{table}" to \'{target}\' (format parquet)')
        con.execute("checkpoint")
    finally:
        con.close()
    wal = build.with_suffix(build.suffix + ".wal")
    if wal.exists():
        raise PublishError(f"{wal} still exists after checkpoint; refusing to publish")

    target = settings.warehouse_path
    target.parent.mkdir(parents=True, exist_ok=True)
    previous = settings.previous_warehouse_path
    had_previous = target.exists()
    if had_previous:
        # Keep the old inode under the rollback name first, then swap the new one in:
        # the published path exists at every instant.
        tmp_link = previous.with_name(previous.name + f".{run_id}.tmp")
        tmp_link.unlink(missing_ok=True)
        os.link(target, tmp_link)
        os.replace(tmp_link, previous)
    os.replace(build, target)
    _swap_symlink(export_root / "current", run_exports.name)
    _prune_exports(export_root, keep={run_exports.name, _link_target(export_root / "previous")})
    BuildLock(settings.build_dir / ".lock", run_id).release()
    return PublishResult(
        warehouse_path=target,
        previous_path=previous if had_previous else None,
        export_dir=export_root / "current",
        tables=counts,
        seconds=time.monotonic() - started,
    )


def rollback(settings: Settings) -> Path:
    """Make the previous published warehouse (and its exports) live again; the current one
    becomes the previous, so a second rollback undoes the first."""
    target, previous = settings.warehouse_path, settings.previous_warehouse_path
    if not previous.exists():
        raise PublishError(f"nothing to roll back to: {previous} does not exist")
    incoming = target.with_name(target.name + ".rollback.tmp")
    outgoing = previous.with_name(previous.name + ".rollback.tmp")
    for tmp in (incoming, outgoing):
        tmp.unlink(missing_ok=True)
    os.link(previous, incoming)
    os.link(target, outgoing)
    os.replace(incoming, target)  # the published path exists at every instant
    os.replace(outgoing, previous)
    export_root = settings.export_dir
    current, prior = _link_target(export_root / "current"), _link_target(export_root / "previous")
    if current and prior:
        _swap_symlink(export_root / "current", prior, keep_previous=False)
        _swap_symlink(export_root / "previous", current, keep_previous=False)
    return target


def _link_target(link: Path) -> str | None:
    return os.readlink(link) if link.is_symlink() else None


def _swap_symlink(link: Path, target_name: str, *, keep_previous: bool = True) -> None:
    old = _link_target(link)
    tmp = link.with_name(link.name + ".tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target_name)
    os.replace(tmp, link)
    if keep_previous and old and old != target_name:
        _swap_symlink(link.with_name("previous"), old, keep_previous=False)


def _prune_exports(export_root: Path, keep: set[str | None]) -> None:
    for child in export_root.iterdir():
        if child.is_dir() and not child.is_symlink() and child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)
