"""One person's journey: their touchpoints across the sources, their phase spells, and the
identity evidence that made them one person — as published (identifier values are HMAC
pseudonyms when JOURNEY_PSEUDONYMIZE_KEY was set for the run, since the identity tables are
published that way).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines.report.reader import PublishedWarehouse, ReportError, evidence

PROFILE = evidence(
    "dim_persons", "person_id", "first_touch_at", "last_touch_at", "acquisition_channel",
    "current_phase", "first_order_at", "orders", "revenue", "latest_csat", "latest_nps", "segment",
    "identifiers",
)  # fmt: skip
TOUCHPOINTS = evidence(
    "fct_touchpoints", "person_id", "occurred_at", "source", "stream", "record_id",
    "touchpoint_type", "channel", "campaign", "touchpoint_value", "touchpoint_score", "phase",
)  # fmt: skip
SPELLS = evidence(
    "fct_journey_phases", "person_id", "phase", "phase_rank", "spell_number", "entered_at",
    "exited_at", "touchpoints_in_phase", "entry_channel", "next_phase",
)  # fmt: skip
IDENTIFIERS = evidence(
    "identity_map", "identifier_kind", "identifier_value", "person_id", "first_seen_at",
    "last_seen_at", schema="identity",
)  # fmt: skip
EDGES = evidence(
    "identity_edges", "left_kind", "left_value", "right_kind", "right_value", "source", "stream",
    "record_id", "observed_at", "rule", schema="identity",
)  # fmt: skip
MERGES = evidence(
    "identity_merges", "merged_at", "surviving_person_id", "retired_person_id", "rule", "source",
    "stream", "record_id", schema="identity",
)  # fmt: skip
REQUIRED = (PROFILE, TOUCHPOINTS, SPELLS, IDENTIFIERS, EDGES)


@dataclass
class PersonJourney:
    person_id: str
    profile: dict
    touchpoints: pl.DataFrame
    spells: pl.DataFrame
    identifiers: pl.DataFrame
    edges: pl.DataFrame
    merges: pl.DataFrame


def person_journey(warehouse: PublishedWarehouse, person_id: str) -> PersonJourney:
    warehouse.require(REQUIRED)
    parameters = {"person_id": person_id}
    profile = warehouse.frame(
        "select * from marts.dim_persons where person_id = $person_id", parameters
    )
    if profile.is_empty():
        raise ReportError(_not_found(warehouse, person_id))
    touchpoints = warehouse.frame(
        f"""
        select {", ".join(TOUCHPOINTS.columns[1:])}
        from marts.fct_touchpoints
        where person_id = $person_id
        order by occurred_at, source, stream, record_id, touchpoint_type
        """,
        parameters,
    )
    spells = warehouse.frame(
        f"""
        select {", ".join(SPELLS.columns[1:])}
        from marts.fct_journey_phases
        where person_id = $person_id
        order by spell_number
        """,
        parameters,
    )
    identifiers = warehouse.frame(
        """
        select identifier_kind, identifier_value, first_seen_at, last_seen_at
        from identity.identity_map
        where person_id = $person_id
        order by first_seen_at, identifier_kind, identifier_value
        """,
        parameters,
    )
    edges = warehouse.frame(
        """
        with mine as (
            select identifier_kind, identifier_value
            from identity.identity_map where person_id = $person_id
        )
        select edges.observed_at, edges.rule, edges.source, edges.stream, edges.record_id,
            edges.left_kind, edges.left_value, edges.right_kind, edges.right_value
        from identity.identity_edges as edges
        inner join mine
            on edges.left_kind = mine.identifier_kind and edges.left_value = mine.identifier_value
        order by edges.observed_at, edges.source, edges.stream, edges.record_id, edges.right_kind
        """,
        parameters,
    )
    merges = pl.DataFrame()
    if not warehouse.missing([MERGES]):
        merges = warehouse.frame(
            """
            select merged_at, surviving_person_id, retired_person_id, rule, source, stream,
                record_id
            from identity.identity_merges
            where surviving_person_id = $person_id or retired_person_id = $person_id
            order by merged_at
            """,
            parameters,
        )
    return PersonJourney(
        person_id=person_id,
        profile=profile.row(0, named=True),
        touchpoints=touchpoints,
        spells=spells,
        identifiers=identifiers,
        edges=edges,
        merges=merges,
    )


def _not_found(warehouse: PublishedWarehouse, person_id: str) -> str:
    if not warehouse.missing([MERGES]):
        merged = warehouse.frame(
            "select surviving_person_id, merged_at from identity.identity_merges "
            "where retired_person_id = $person_id order by merged_at desc limit 1",
            {"person_id": person_id},
        )
        if merged.height:
            survivor, when = merged.row(0)
            return (
                f"person {person_id} was merged into {survivor} on {when:%Y-%m-%d}; "
                f"run with --person {survivor}"
            )
    return (
        f"no person {person_id} in {warehouse.path} (marts.dim_persons); person ids look like "
        "p_0123456789abcdef — find one with `python -m pipelines query "
        '"select person_id from marts.dim_persons limit 5"`'
    )
