"""fct_attribution and the Markov removal effects (int_channel_removal_effects_solved)."""

from __future__ import annotations

from types import SimpleNamespace

import duckdb
import jinja2
import numpy as np
import polars as pl
import pytest
import yaml

from pipelines.settings import DBT_PROJECT_DIR
from tests.dbt.conftest import BuiltWarehouse

MODELS = {
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "time_decay",
    "position_based",
    "markov",
}
MARKOV_MODEL = (
    DBT_PROJECT_DIR / "models/intermediate/attribution/int_channel_removal_effects_solved.sql"
)
MARKOV_MACROS = DBT_PROJECT_DIR / "macros/markov.sql"


def _removal_effects(
    transitions: pl.DataFrame, form: str = "default", max_states: int | None = None
) -> pl.DataFrame:
    """The model's SQL run on DuckDB over `transitions` (its only ref), rendered with macro
    markov_elimination's `form` (`default`: the recursive CTE; `spark`: unrolled for
    `max_states`, default the project's var `markov_max_states`)."""
    bound = (
        max_states
        or yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"][
            "markov_max_states"
        ]
    )
    environment = jinja2.Environment()
    environment.globals["var"] = {"markov_max_states": bound}.__getitem__
    macros = environment.from_string(MARKOV_MACROS.read_text()).module
    sql = environment.from_string(MARKOV_MODEL.read_text()).render(
        ref={"int_channel_transitions_counted": "transitions"}.__getitem__,
        dbt=SimpleNamespace(type_bigint=lambda: "bigint"),
        journey_warehouse=SimpleNamespace(
            markov_elimination=getattr(macros, f"{form}__markov_elimination")
        ),
    )
    with duckdb.connect() as con:
        con.register("transitions", transitions.to_arrow())
        return con.sql(sql).pl()


def _transitions(*paths: tuple[str, ...]) -> pl.DataFrame:
    """Transition counts of paths written as (channel, ..., outcome)."""
    steps = [
        (before, after)
        for path in paths
        for before, after in zip(("(start)", *path[:-1]), path, strict=True)
    ]
    frame = pl.DataFrame(steps, schema=["from_state", "to_state"], orient="row")
    return frame.group_by("from_state", "to_state").agg(transitions=pl.len())


def _absorption_by_iteration(transitions: pl.DataFrame, removed: str | None) -> float:
    """Conversion probability from (start) by iterating the chain (no linear solve)."""
    counts = transitions.filter(pl.col("to_state") != removed) if removed else transitions
    totals = transitions.group_by("from_state").agg(total=pl.col("transitions").sum())
    counts = counts.join(totals, on="from_state").with_columns(
        probability=pl.col("transitions") / pl.col("total")
    )
    states = sorted(set(transitions["from_state"]))
    index = {state: i for i, state in enumerate(states)}
    q = np.zeros((len(states), len(states)))
    r = np.zeros(len(states))
    moves = counts.filter(pl.col("to_state").is_in(states))
    q[
        [index[s] for s in moves["from_state"]],
        [index[s] for s in moves["to_state"]],
    ] = moves["probability"].to_numpy()
    conversions = counts.filter(pl.col("to_state") == "(conversion)")
    r[[index[s] for s in conversions["from_state"]]] = conversions["probability"].to_numpy()
    p = np.zeros(len(states))
    for _ in range(20_000):  # fixed point of p = Q p + r; converges geometrically
        p = q @ p + r
    return float(p[index["(start)"]])


def test_credits_sum_to_one_per_order_and_model(built: BuiltWarehouse) -> None:
    totals = built.query(
        """
        select order_id, attribution_model, sum(credit) as total, count(*) as touchpoints
        from marts.fct_attribution group by all
        """
    )
    assert set(totals["attribution_model"]) == MODELS
    assert (totals["total"] - 1).abs().max() < 1e-9
    orders = built.query("select count(*) from marts.fct_orders where not is_cancelled").item()
    assert totals.height == orders * len(MODELS)
    low, high = built.query("select min(credit), max(credit) from marts.fct_attribution").row(0)
    assert low >= 0 and high <= 1 + 1e-9


def test_touchpoints_are_the_buyers_sessions_in_the_lookback_window(
    built: BuiltWarehouse,
) -> None:
    outside = built.query(
        """
        select attribution.order_id
        from marts.fct_attribution as attribution
        inner join marts.fct_sessions as sessions on attribution.session_id = sessions.session_id
        where sessions.person_id <> attribution.person_id
            or sessions.started_at > attribution.order_created_at
            or sessions.started_at < attribution.order_created_at - interval 30 day
        """
    )
    assert outside.height == 0
    # Every session of the buyer in the window is a touchpoint, and Unattributed means none.
    windows = """
        select orders.order_id, count(sessions.session_id) as sessions
        from marts.fct_orders as orders
        left join marts.fct_sessions as sessions
            on sessions.person_id = orders.person_id
            and sessions.started_at between orders.created_at - interval 30 day and orders.created_at
        where not orders.is_cancelled
        group by orders.order_id
    """
    mine = """
        select order_id, count(session_id) as sessions
        from marts.fct_attribution where attribution_model = 'linear' group by order_id
    """
    assert built.query(f"({windows}) except ({mine})").height == 0
    assert built.query(f"({mine}) except ({windows})").height == 0
    unattributed = built.query(
        "select count(*) from marts.fct_attribution where channel = 'Unattributed' "
        "and (session_id is not null or credit <> 1)"
    ).item()
    assert unattributed == 0


def test_removal_effects_of_a_hand_computed_chain() -> None:
    # start→A 2/3, start→B 1/3; A→conv 1/2, A→B 1/2; B→conv 1/2, B→null 1/2.
    # p = 2/3; without A: 1/6 (effect 3/4); without B: 1/3 (effect 1/2); shares 0.6 / 0.4.
    transitions = _transitions(("A", "(conversion)"), ("B", "(null)"), ("A", "B", "(conversion)"))
    effects = _removal_effects(transitions).sort("channel")
    assert effects["channel"].to_list() == ["A", "B"]
    assert effects["conversion_probability"].to_list() == pytest.approx([2 / 3, 2 / 3])
    assert effects["conversion_probability_without_channel"].to_list() == pytest.approx(
        [1 / 6, 1 / 3]
    )
    assert effects["removal_effect"].to_list() == pytest.approx([0.75, 0.5])
    assert effects["removal_effect_share"].to_list() == pytest.approx([0.6, 0.4])
    # Spark's unrolled form: the same numbers to the bit, for exactly the chain's three states
    # or more (the extra steps change nothing); for fewer the elimination stops short (singular
    # test assert_markov_states_within_bound fails the build then)
    for states in (3, 5):
        assert _removal_effects(transitions, "spark", states).sort("channel").equals(effects)
    assert not _removal_effects(transitions, "spark", 2).sort("channel").equals(effects)


def test_removal_effects_are_deterministic_and_sum_normalised(built: BuiltWarehouse) -> None:
    transitions = built.query("select * from intermediate.int_channel_transitions_counted")
    stored = built.query(
        "select * from intermediate.int_channel_removal_effects_solved order by channel"
    )
    assert stored.height >= 5
    assert stored["removal_effect_share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert (stored["removal_effect"] > 0).all()
    # Any row order gives the same numbers, bit for bit, and so does Spark's unrolled form (run
    # here on DuckDB, for exactly the chain's states) — except the shares' last bit: their
    # denominator is a sum of doubles, which adds in the order the rows come.
    exact = pl.exclude("removal_effect_share")
    recomputed = [
        _removal_effects(transitions.sample(fraction=1.0, shuffle=True, seed=seed))
        for seed in range(3)
    ] + [_removal_effects(transitions, "spark", stored.height + 1)]
    for effects in recomputed:
        effects = effects.sort("channel")
        assert effects.select(exact).equals(stored.select(exact))
        assert effects["removal_effect_share"].to_list() == pytest.approx(
            stored["removal_effect_share"].to_list(), rel=1e-15
        )
    # The closed form agrees with iterating the chain.
    base = _absorption_by_iteration(transitions, removed=None)
    assert stored["conversion_probability"].to_list() == pytest.approx([base] * stored.height)
    for channel, without in stored.select(
        "channel", "conversion_probability_without_channel"
    ).iter_rows():
        assert without == pytest.approx(_absorption_by_iteration(transitions, channel), abs=1e-9)


def test_markov_credit_follows_the_removal_effects(built: BuiltWarehouse) -> None:
    # Single-channel paths give all credit to that channel; in two-channel paths the ratio of
    # the channels' credits is the ratio of their removal effects.
    ratios = built.query(
        """
        with paths as (
            select order_id, channel, sum(credit) as credit
            from marts.fct_attribution where attribution_model = 'markov' group by all
        ),
        pairs as (
            select a.order_id, a.credit / b.credit as credit_ratio,
                   ea.removal_effect / eb.removal_effect as effect_ratio
            from paths as a
            inner join paths as b on a.order_id = b.order_id and a.channel < b.channel
            inner join intermediate.int_channel_removal_effects_solved as ea on a.channel = ea.channel
            inner join intermediate.int_channel_removal_effects_solved as eb on b.channel = eb.channel
            where a.order_id in (select order_id from paths group by order_id having count(*) = 2)
        )
        select * from pairs
        """
    )
    assert ratios.height > 3
    assert (ratios["credit_ratio"] - ratios["effect_ratio"]).abs().max() < 1e-9
