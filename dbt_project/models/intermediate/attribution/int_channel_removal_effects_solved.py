"""Markov-chain removal effects per channel, solved in closed form.

One row per channel of `int_channel_transitions_counted`. The transition counts define an
absorbing Markov chain: transient states `(start)` and the channels, absorbing states
`(conversion)` and `(null)`. With Q the transient-to-transient and r the transient-to-conversion
probabilities, the conversion probabilities of all transient states solve the linear system
(I - Q) p = r (fundamental matrix; unique because every state reaches an absorbing state: every
observed path ends in one). Removing a channel sends every transition into it to `(null)`
(its column of Q and its entry of r are zeroed); the removal effect is the relative drop of the
conversion probability from `(start)`: (p - p_without) / p. Shares are the removal effects
normalised to sum to 1. Deterministic: a direct solve, no simulation, channels in name order.

A dbt Python model because a linear solve is what SQL does badly. On DuckDB it runs in the dbt
process with numpy; an engine without Python models would run `removal_effects` as a step of
its own (it only needs the small transition table).
"""

import numpy as np
import polars as pl

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
SCHEMA = {
    "channel": pl.String,
    "conversion_probability": pl.Float64,
    "conversion_probability_without_channel": pl.Float64,
    "removal_effect": pl.Float64,
    "removal_effect_share": pl.Float64,
    "transitions_into_channel": pl.Int64,
}


def removal_effects(transitions: pl.DataFrame) -> pl.DataFrame:
    """Transition counts (from_state, to_state, transitions) -> removal effects per channel."""
    counts = transitions.select("from_state", "to_state", pl.col("transitions").cast(pl.Float64))
    states = pl.concat([counts["from_state"], counts["to_state"]]).unique().sort()
    channels = states.filter(~states.is_in([START, CONVERSION, NULL])).to_list()
    if not channels:
        return pl.DataFrame(schema=SCHEMA)
    transient = [START, *channels]
    columns = [*transient, CONVERSION, NULL]
    index = {state: position for position, state in enumerate(columns)}
    rows = counts["from_state"].replace_strict(index, return_dtype=pl.Int64).to_numpy()
    targets = counts["to_state"].replace_strict(index, return_dtype=pl.Int64).to_numpy()
    matrix = np.zeros((len(transient), len(columns)))
    np.add.at(matrix, (rows, targets), counts["transitions"].to_numpy())
    totals = matrix.sum(axis=1, keepdims=True)
    probabilities = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    q = probabilities[:, : len(transient)]
    r = probabilities[:, index[CONVERSION]]
    identity = np.eye(len(transient))
    base = np.linalg.solve(identity - q, r)[0]
    without = np.empty(len(channels))
    for position in range(1, len(transient)):  # one solve per channel: a handful of states
        q_removed, r_removed = q.copy(), r.copy()
        q_removed[:, position] = 0.0
        q_removed[position, :] = 0.0
        r_removed[position] = 0.0
        without[position - 1] = np.linalg.solve(identity - q_removed, r_removed)[0]
    effect = (base - without) / base if base > 0 else np.zeros(len(channels))
    effect = np.clip(effect, 0.0, None)
    total = effect.sum()
    share = effect / total if total > 0 else np.zeros(len(channels))
    return pl.DataFrame(
        {
            "channel": channels,
            "conversion_probability": np.full(len(channels), base),
            "conversion_probability_without_channel": without,
            "removal_effect": effect,
            "removal_effect_share": share,
            "transitions_into_channel": matrix[:, 1 : len(transient)].sum(axis=0).astype(np.int64),
        },
        schema=SCHEMA,
    )


def model(dbt, session):
    dbt.config(materialized="table")
    transitions = dbt.ref("int_channel_transitions_counted").pl()
    return removal_effects(transitions).to_arrow()
