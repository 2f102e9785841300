"""The identity night's state, kept in the published generation (write-audit-publish).

A night re-stitches only the candidate components its records touch
(`pipelines.identity.nightly`). It needs the graph of the previous nights in integer form
(`NightState`) and the previous night's identity tables. Both live in the generation that
published them:

    W/.generations/<id>/identity/identity_state.json              signature (rules, key, Polars)
    W/.generations/<id>/identity/identity_state_nodes.parquet     per identifier: its component
    W/.generations/<id>/identity/identity_state_records.parquet   per record: key, fingerprint, component
    W/.generations/<id>/identity/<table>.parquet                  that night's identity tables

The identity step writes them into the build (`{build_dir}/identity/`, beside the tables dbt
reads); `publish` places that folder into the new generation with the build file. So the state
advances only when a night publishes: a night that fails or is stopped by a check leaves the
live generation's state as it was, a rollback makes the older generation's state live again
with its tables, and the state is deleted with its generation (garbage collection, and the
discard of a generation holding erased persons). Nothing imports Dagster here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from pipelines.identity.contract import RECORD
from pipelines.identity.nightly import (
    CARRIED_TABLES,
    STATE_FILES,
    STATE_META,
    NightResult,
    NightState,
    stitch_night,
    write_night,
)
from pipelines.identity.rules import IdentityRules
from pipelines.identity.stitch import StitchResult, write_tables
from pipelines.settings import Settings
from pipelines.warehouse.durable import place_file
from pipelines.warehouse.generations import load_generation, read_pointer
from pipelines.warehouse.published import read_published_table, with_history

log = logging.getLogger("journey.identity")

IDENTITY_FOLDER = "identity"
"""The identity state's folder inside a generation folder."""
HISTORY_TABLES = ("identity_merges", "identity_splits")
KEPT_TABLES = (*CARRIED_TABLES, *HISTORY_TABLES)
"""The identity tables kept with the state (the history tables hold every night's events)."""


@dataclass
class NightInputs:
    """What a night starts from: the state and the previous tables, or why it stitches in full."""

    state: NightState | None
    previous_tables: dict[str, pl.DataFrame | pl.LazyFrame | None] = field(default_factory=dict)
    """The carried tables as lazy scans of the generation's files; the history tables read."""
    reason: str | None = None
    """Why there is no state (the night then stitches everything); None when there is one."""
    folder: Path | None = None
    """The live generation's identity folder the state was read from."""


def live_identity_folder(settings: Settings) -> Path | None:
    """The live generation's identity folder, or None when nothing is published."""
    pointer = read_pointer(settings)
    if pointer is None:
        return None
    return load_generation(settings, pointer.current).folder / IDENTITY_FOLDER


def read_night_inputs(settings: Settings, *, full_refresh: bool) -> NightInputs:
    """The live generation's identity state and tables; without them, the reason.

    A full refresh, nothing published, a generation without a state (published before the
    state existed) and a state that cannot be read each give no state: the night stitches
    everything and writes a fresh one. The stitcher itself also refuses a state written
    with other rules, another key or another Polars version (`nightly._why_full`).
    """
    if full_refresh:
        return NightInputs(None, reason="full refresh requested")
    folder = live_identity_folder(settings)
    if folder is None:
        return NightInputs(None, reason="nothing published yet")
    state_paths = [folder / name for name in (STATE_META, *STATE_FILES)]
    table_paths = {name: folder / f"{name}.parquet" for name in KEPT_TABLES}
    missing = [path.name for path in [*state_paths, *table_paths.values()] if not path.exists()]
    if missing:
        return NightInputs(
            None,
            reason=f"the live generation has no identity state (missing {', '.join(missing)})",
            folder=folder,
        )
    try:
        state = NightState.read(folder)
        tables: dict[str, pl.DataFrame | pl.LazyFrame | None] = {}
        for name, path in table_paths.items():
            scan = pl.scan_parquet(path)
            scan.collect_schema()  # an unreadable file fails here, not in the middle of a night
            tables[name] = scan.collect() if name in HISTORY_TABLES else scan
    except Exception as error:
        return NightInputs(
            None,
            reason=f"the identity state in {folder} is unreadable ({type(error).__name__}: "
            f"{error})",
            folder=folder,
        )
    return NightInputs(state, tables, folder=folder)


def place_identity_state(build_identity_dir: Path, generation_folder: Path) -> list[str]:
    """Place the build's identity state and tables into a generation being written (hard
    links where possible, atomically per file); returns the file names placed. A build
    without them (the identity step did not write a state) places nothing."""
    meta = build_identity_dir / STATE_META
    if not meta.exists():
        return []
    target = generation_folder / IDENTITY_FOLDER
    target.mkdir(exist_ok=True)
    names = [STATE_META, *STATE_FILES, *(f"{name}.parquet" for name in KEPT_TABLES)]
    for name in names:
        place_file(build_identity_dir / name, target / name)
    return names


@dataclass
class IdentityNight:
    """A night's identity step, written to the build: its tables, state and figures."""

    result: StitchResult
    """The stitch of what was stitched (all of it, or the re-stitched part)."""
    night: NightResult | None
    """None for a full stitch by another engine (`run_identity_full_stitch`)."""
    paths: dict[str, Path]
    rows: dict[str, int]
    """Rows of each table as written."""
    metrics: dict[str, int | float | str]
    """The stitcher's metrics (of what it stitched), the totals of the tables (`persons`,
    `identifiers`, `largest_cluster`), `identity_mode`, `identity_mode_reason`,
    `restitched_records` and `night_seconds[<step>]`."""


def run_identity_night(
    settings: Settings,
    evidence: pl.DataFrame | pl.LazyFrame,
    *,
    rules: IdentityRules,
    run_id: str,
    run_at: datetime,
    erasures: pl.DataFrame | None,
    full_refresh: bool,
) -> IdentityNight:
    """Stitch tonight against the live generation's state and write the identity tables and
    tonight's state into `settings.build_identity_dir` (published with the generation).

    Without a usable state the night stitches everything, with stable ids from the published
    identity_map (none on a full refresh). Merges and splits are appended to the history the
    state's generation kept (the published tables when there is no state).
    """

    def published(table: str) -> pl.DataFrame | None:
        return None if full_refresh else read_published_table(settings, "identity", table)

    inputs = read_night_inputs(settings, full_refresh=full_refresh)
    previous_tables = inputs.previous_tables
    if inputs.state is None:
        previous_tables = {name: published(name) for name in ("identity_map", *HISTORY_TABLES)}
    history = {name: previous_tables.get(name) for name in HISTORY_TABLES}
    why_no_state = inputs.reason
    night = stitch_night(
        evidence,
        rules=rules,
        run_id=run_id,
        run_at=run_at,
        state=inputs.state,
        previous_tables=previous_tables,
        erasures=erasures,
        pseudonymize_key=settings.pseudonymize_key,
    )
    del evidence, previous_tables, inputs  # the previous tables are not needed any more
    if night.mode == "incremental":
        reason = night.reason
    else:  # why there was no state, or why the stitcher refused it
        reason = f"full stitch: {why_no_state or night.reason}"
    log.info("identity: %s night (%s)", night.mode, reason)
    result = night.stitched  # tonight's merges and splits after the history
    for table in HISTORY_TABLES:
        history_table = history[table]
        assert not isinstance(history_table, pl.LazyFrame)
        result.tables[table] = with_history(result.tables[table], history_table)
    paths = write_night(night, settings.build_identity_dir)
    return _written(
        result,
        night,
        paths,
        mode=night.mode,
        reason=reason,
        restitched_records=night.restitched_records,
        seconds=night.seconds,
    )


def run_identity_full_stitch(
    settings: Settings,
    stitch_all: Callable[[pl.DataFrame | None], StitchResult],
    *,
    full_refresh: bool,
    reason: str,
) -> IdentityNight:
    """A full stitch by another engine (`stitch_all(previous identity_map)`: Spark, docs/scale-out.md),
    written into the build like a night's tables but without a state: the next night finds a
    generation without one and stitches everything again ("the live generation has no identity
    state"), so a stale state never pairs with these tables."""

    def published(table: str) -> pl.DataFrame | None:
        return None if full_refresh else read_published_table(settings, "identity", table)

    folder = settings.build_identity_dir
    for name in (STATE_META, *STATE_FILES):  # a state left in the build by an earlier run
        (folder / name).unlink(missing_ok=True)
    result = stitch_all(published("identity_map"))
    for table in HISTORY_TABLES:
        result.tables[table] = with_history(result.tables[table], published(table))
    log.info("identity: full night (%s)", reason)
    paths = write_tables(result, folder)
    records = result.tables["identity_record_persons"].select(RECORD).n_unique()
    return _written(
        result, None, paths, mode="full", reason=reason, restitched_records=records, seconds={}
    )


def _written(
    result: StitchResult,
    night: NightResult | None,
    paths: dict[str, Path],
    *,
    mode: str,
    reason: str,
    restitched_records: int,
    seconds: dict[str, float],
) -> IdentityNight:
    """The figures of the tables a night wrote (the stitcher's metrics describe what it
    stitched; the totals are the tables')."""
    rows = {
        table: pl.scan_parquet(path).select(pl.len()).collect().item()
        for table, path in paths.items()
    }
    metrics: dict[str, int | float | str] = dict(result.metrics)
    sizes = pl.scan_parquet(paths["identity_map"]).group_by("person_id").len().collect()["len"]
    metrics.update(
        persons=sizes.len(),
        identifiers=int(sizes.sum()),
        largest_cluster=int(sizes.max() or 0),  # type: ignore[arg-type]
        identity_mode=mode,
        identity_mode_reason=reason,
        restitched_records=restitched_records,
        **{f"night_seconds[{step}]": value for step, value in seconds.items()},
    )
    return IdentityNight(result, night, paths, rows, metrics)
