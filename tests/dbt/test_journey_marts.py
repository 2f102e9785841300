"""Phase transitions, drop-off and conversion paths against ground truth (truth/phases.parquet)."""

from __future__ import annotations

import polars as pl

from tests.dbt.conftest import BuiltWarehouse


def _truth_spells(built: BuiltWarehouse) -> pl.DataFrame:
    spells = built.query(
        f"""
        select person_key, phase, timezone('UTC', entered_at) as entered_at
        from {built.truth("phases")}
        where person_key <> '{built.erased_person_key}'
        """
    )
    return spells.sort("person_key", "entered_at").with_columns(
        next_phase=pl.col("phase").shift(-1).over("person_key")
    )


def _close(mine: int, truth: int) -> bool:
    """Within identity noise: 2 persons or 5 %."""
    return abs(mine - truth) <= max(2, 0.05 * truth)


def test_phase_transitions_match_truth_within_identity_noise(built: BuiltWarehouse) -> None:
    truth = (
        _truth_spells(built)
        .filter(pl.col("next_phase").is_not_null())
        .group_by("phase", "next_phase")
        .agg(truth_persons=pl.col("person_key").n_unique())
    )
    mine = built.query(
        """
        select from_phase as phase, to_phase as next_phase, sum(persons) as persons
        from marts.fct_phase_transitions group by all
        """
    ).cast({"persons": pl.Int64})
    compared = truth.join(mine, on=["phase", "next_phase"], how="full", coalesce=True).fill_null(0)
    main = compared.filter(pl.col("truth_persons") >= 10)
    assert main.height >= 4  # awareness→consideration, consideration→conversion, ...
    for row in main.iter_rows(named=True):
        assert _close(row["persons"], row["truth_persons"]), row
    rates = built.query(
        "select count(*) from marts.fct_phase_transitions where conversion_rate > 1 or persons < 1"
    ).item()
    assert rates == 0


def test_dropoff_before_purchase_matches_truth(built: BuiltWarehouse) -> None:
    # Persons who never ordered are never current customers: they drop off in their last phase.
    spells = _truth_spells(built)
    last = spells.group_by("person_key").agg(pl.col("phase").last())
    buyers = spells.filter(pl.col("phase") == "conversion").select("person_key").unique()
    truth = (
        last.join(buyers, on="person_key", how="anti").group_by("phase").agg(truth_persons=pl.len())
    )
    mine = built.query(
        """
        select phase, sum(persons_dropped_off) as persons
        from marts.fct_phase_dropoff where phase in ('awareness', 'consideration') group by phase
        """
    ).cast({"persons": pl.Int64})
    compared = truth.join(mine, on="phase")
    assert compared.height == 2
    for row in compared.iter_rows(named=True):
        assert _close(row["persons"], row["truth_persons"]), row


def test_conversion_paths_cover_every_attributed_order(built: BuiltWarehouse) -> None:
    paths = built.query(
        "select path_outcome, sum(paths) as paths from marts.fct_conversion_paths group by all"
    )
    counts = dict(paths.iter_rows())
    attributed = built.query(
        """
        select count(distinct order_id) from marts.fct_attribution
        where attribution_model = 'first_touch' and session_id is not null
        """
    ).item()
    assert counts["conversion"] == attributed > 10
    non_converting = built.query(
        """
        select count(distinct sessions.person_id)
        from marts.fct_sessions as sessions
        left join (
            select person_id, max(created_at) as last_order_at from marts.fct_orders
            where not is_cancelled group by person_id
        ) as orders on sessions.person_id = orders.person_id
        where sessions.person_id is not null
            and (orders.last_order_at is null or sessions.started_at > orders.last_order_at)
        """
    ).item()
    assert counts["non_conversion"] == non_converting
    steps = (
        built.query("select channel_path from marts.fct_conversion_paths")
        .with_columns(row=pl.int_range(pl.len()), step=pl.col("channel_path").str.split(" > "))
        .explode("step")
        .with_columns(previous=pl.col("step").shift(1).over("row"))
    )
    assert steps.filter(pl.col("step") == pl.col("previous")).height == 0  # repeats collapsed
    assert steps["channel_path"].str.contains(" > ").any()
