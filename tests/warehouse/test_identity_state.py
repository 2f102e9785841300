"""The identity night's state lives in the published generation (write-audit-publish).

Nights run the real identity step (`run_identity_night`, what the asset calls) into real builds
that the real `publish` turns into generations: the state advances only when a night publishes,
a night that never publishes does not poison the next one, a rollback brings the older state
back, and a full refresh, a missing state or a corrupt one each fall back to a full stitch
saying why. Every incremental night's tables equal a full stitch of the same evidence
against the previous published night (row for row, person ids and merge history included).
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from devkit.identity.synthetic import generate_evidence
from pipelines.identity.nightly import CARRIED_TABLES
from pipelines.identity.rules import load_rules
from pipelines.identity.stitch import stitch
from pipelines.warehouse.build import BuildLock
from pipelines.warehouse.identity_state import (
    IDENTITY_FOLDER,
    live_identity_folder,
    read_night_inputs,
    run_identity_night,
)
from pipelines.warehouse.publish import publish, rollback
from pipelines.warehouse.surface import SurfaceSpec, TableSpec
from tests.identity.conftest import RUN_AT
from tests.warehouse.builds import SPEC, build, settings_for

KEY = ["source", "stream", "record_id"]
PUBLISHED = ("identity_map", "identity_merges", "identity_splits")
SURFACE = SurfaceSpec(
    {**SPEC.tables, **{("identity", table): TableSpec() for table in PUBLISHED[1:]}}
)
COMPARED = (*CARRIED_TABLES, "identity_merges", "identity_splits")


@pytest.fixture(scope="module")
def rules():
    return load_rules()


@pytest.fixture(scope="module")
def nights():
    """Three nights of synthetic evidence: the history up to 70 %, 85 % and 100 % of its time
    (each night holds every record of the nights before; late records included)."""
    frame, _ = generate_evidence(2_000, seed=5)
    times = frame["observed_at"]
    start, end = times.min(), times.max()
    result = []
    for share in (0.7, 0.85, None):
        if share is None:
            result.append(frame)
            continue
        later = frame.filter(pl.col("observed_at") >= start + (end - start) * share)
        result.append(frame.join(later.select(KEY).unique(), on=KEY, how="anti"))
    return result


def night(settings, evidence, number, rules, *, full_refresh=False, publish_it=True):
    run_id = f"run-{number}"
    build(settings, run_id, [1, 2], full_refresh=full_refresh)
    done = run_identity_night(
        settings,
        evidence,
        rules=rules,
        run_id=run_id,
        run_at=RUN_AT + timedelta(days=number),
        erasures=None,
        full_refresh=full_refresh,
    )
    # what dbt does with the identity step's files: the published identity tables are the step's
    con = duckdb.connect(str(settings.build_warehouse_path))
    for table in PUBLISHED:
        con.execute(
            f"create or replace table identity.{table} as select * from read_parquet(?)",
            [str(done.paths[table])],
        )
    con.close()
    if publish_it:
        publish(settings, run_id=run_id, spec=SURFACE)
    else:  # the run fails: what the failure hook does
        BuildLock(settings.build_dir / ".lock", run_id).release()
    return done


def written(settings) -> dict[str, pl.DataFrame]:
    folder = live_identity_folder(settings)
    return {name: pl.read_parquet(folder / f"{name}.parquet") for name in COMPARED}


def full_stitch(evidence, previous: dict[str, pl.DataFrame], number, rules) -> dict:
    """A full stitch against the previous published night, history appended as the asset does."""
    result = stitch(
        evidence,
        rules=rules,
        run_id=f"run-{number}",
        run_at=RUN_AT + timedelta(days=number),
        previous_map=previous["identity_map"],
    )
    tables = {name: result.tables[name] for name in COMPARED}
    for name in ("identity_merges", "identity_splits"):
        history = previous[name].cast(tables[name].schema)
        tables[name] = pl.concat([history, tables[name]]).unique(maintain_order=True)
    return tables


def assert_same(actual: dict, expected: dict) -> None:
    for name in COMPARED:
        assert_frame_equal(
            actual[name].sort(pl.all(), nulls_last=True),
            expected[name].sort(pl.all(), nulls_last=True),
            check_dtypes=False,
        )


def test_the_state_advances_only_when_a_night_publishes(tmp_path, nights, rules):
    settings = settings_for(tmp_path)
    first = night(settings, nights[0], 1, rules, full_refresh=True)
    assert first.metrics["identity_mode"] == "full"
    assert first.metrics["identity_mode_reason"] == "full stitch: full refresh requested"
    night_1 = written(settings)

    # night 2 stitches incrementally, then fails before publishing (a blocking check, a crash)
    second = night(settings, nights[1], 2, rules, publish_it=False)
    assert second.metrics["identity_mode"] == "incremental"
    assert 0 < second.night.restitched_records < nights[1]["record_id"].n_unique()
    assert live_identity_folder(settings).joinpath("identity_state.json").exists()
    assert_same(written(settings), night_1)  # the live state is night 1's, untouched

    # night 3 starts from night 1's state, not from the failed night's, and equals a full stitch
    third = night(settings, nights[2], 3, rules)
    assert third.metrics["identity_mode"] == "incremental"
    expected = full_stitch(nights[2], night_1, 3, rules)
    assert expected["identity_merges"].height > night_1["identity_merges"].height  # merges happened
    assert_same(written(settings), expected)
    assert third.metrics["persons"] == expected["identity_map"]["person_id"].n_unique()
    assert third.metrics["identifiers"] == expected["identity_map"].height

    # a rollback makes night 1's generation live again, with its state and tables ...
    assert rollback(settings).run_id == "run-1"
    assert_same(written(settings), night_1)
    # ... and the next night starts from it
    fourth = night(settings, nights[2], 4, rules)
    assert fourth.metrics["identity_mode"] == "incremental"
    assert_same(written(settings), full_stitch(nights[2], night_1, 4, rules))
    night_4 = written(settings)

    # a re-run of the same night re-stitches nothing and changes nothing (idempotent)
    again = night(settings, nights[2], 5, rules)
    assert again.metrics["identity_mode"] == "incremental"
    assert again.night.restitched_records == 0
    assert_same(written(settings), night_4)


def test_no_state_or_a_corrupt_one_falls_back_to_a_full_stitch(tmp_path, nights, rules):
    settings = settings_for(tmp_path)
    assert read_night_inputs(settings, full_refresh=False).reason == "nothing published yet"
    night(settings, nights[0], 1, rules, full_refresh=True)
    folder = live_identity_folder(settings)
    assert folder.parent.joinpath(IDENTITY_FOLDER) == folder
    assert read_night_inputs(settings, full_refresh=True).reason == "full refresh requested"

    # a corrupt state file (the generation is immutable, but disks and people are not)
    state_file = folder / "identity_state_records.parquet"
    state_file.unlink()  # a hard link: the build's copy is not ours to change
    state_file.write_bytes(b"not parquet")
    corrupt = night(settings, nights[1], 2, rules)
    assert corrupt.metrics["identity_mode"] == "full"
    assert "unreadable" in str(corrupt.metrics["identity_mode_reason"])
    night_2 = written(settings)

    # the full night wrote a fresh state: the next night is incremental again and exact
    folder = live_identity_folder(settings)
    assert read_night_inputs(settings, full_refresh=False).state is not None
    (folder / "identity_state.json").unlink()  # a missing state: full, saying what is missing
    missing = night(settings, nights[2], 3, rules)
    assert missing.metrics["identity_mode"] == "full"
    assert "missing identity_state.json" in str(missing.metrics["identity_mode_reason"])
    assert_same(written(settings), full_stitch(nights[2], night_2, 3, rules))
