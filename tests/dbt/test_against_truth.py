"""The marts against the generator's ground truth (contracts §6.7)."""

from __future__ import annotations

from tests.dbt.conftest import BuiltWarehouse

TOUCHPOINT_KEY = "source, stream, record_id, touchpoint_type, occurred_at"


def test_touchpoints_reconcile_exactly_with_truth(built: BuiltWarehouse) -> None:
    # Truth minus the records of the erased person (they must not reach the marts).
    truth = f"""
        select source, stream, record_id, touchpoint_type, timezone('UTC', occurred_at) as occurred_at
        from {built.truth("touchpoints")}
        where person_key <> '{built.erased_person_key}'
    """
    mine = f"select {TOUCHPOINT_KEY} from {built.touchpoints}"
    missing = built.query(f"{truth} except all {mine}")
    extra = built.query(f"{mine} except all {truth}")
    assert missing.height == 0, missing.head(10)
    assert extra.height == 0, extra.head(10)
    per_type = built.query(
        f"select source, stream, touchpoint_type, count(*) as n from {built.touchpoints} group by all"
    )
    assert per_type.height >= 16  # every type of contracts §6.1 but rare ones is present


def test_sessions_match_truth_exactly(built: BuiltWarehouse) -> None:
    truth = f"""
        select visitor_id, timezone('UTC', session_started_at), timezone('UTC', session_ended_at),
               page_views, split_reason
        from {built.truth("sessions")}
    """
    mine = """
        select web_visitor_id, started_at, ended_at, page_views, split_reason
        from marts.fct_sessions
    """
    erased_visitors = f"""
        select identifier_value from {built.truth("identities")}
        where person_key = '{built.erased_person_key}' and identifier_kind = 'web_visitor_id'
    """
    truth = f"select * from ({truth}) as t where visitor_id not in ({erased_visitors})"
    mine = f"select * from ({mine}) as m where web_visitor_id not in ({erased_visitors})"
    assert built.query(f"{truth} except all {mine}").height == 0
    assert built.query(f"{mine} except all {truth}").height == 0
    assert built.query(f"select count(*) as n from ({truth})").item() > 500


def test_phase_spells_equal_truth_for_exactly_resolved_persons(built: BuiltWarehouse) -> None:
    # A true person is resolved exactly when all their touchpoints carry one person id that
    # no other true person's touchpoints carry.
    pairs = f"""
        select t.person_key, m.person_id
        from {built.truth("touchpoints")} as t
        inner join {built.touchpoints} as m
            on t.source = m.source and t.stream = m.stream and t.record_id = m.record_id
            and t.touchpoint_type = m.touchpoint_type and timezone('UTC', t.occurred_at) = m.occurred_at
    """
    exact = f"""
        with pairs as ({pairs}),
        by_truth as (
            select person_key, min(person_id) as person_id, count(distinct person_id) as ids,
                   count(*) - count(person_id) as unresolved
            from pairs group by person_key
        ),
        by_mine as (select person_id, count(distinct person_key) as keys from pairs group by person_id)
        select by_truth.person_key, by_truth.person_id
        from by_truth inner join by_mine on by_truth.person_id = by_mine.person_id
        where by_truth.ids = 1 and by_truth.unresolved = 0 and by_mine.keys = 1
    """
    truth = f"""
        select person_key, phase, timezone('UTC', entered_at) as entered_at
        from {built.truth("phases")}
        where person_key in (select person_key from ({exact}))
    """
    mine = f"""
        select exact.person_key, spells.phase, spells.entered_at
        from marts.fct_journey_phases as spells
        inner join ({exact}) as exact on spells.person_id = exact.person_id
    """
    persons = built.query(f"select count(*) from ({exact})").item()
    all_persons = built.query(
        f"select count(distinct person_key) from {built.truth('touchpoints')}"
    ).item()
    assert persons >= 0.9 * all_persons
    assert built.query(f"{truth} except all {mine}").height == 0
    assert built.query(f"{mine} except all {truth}").height == 0


def test_every_buyer_enters_conversion_at_first_order(built: BuiltWarehouse) -> None:
    buyers = built.query(
        """
        select first_orders.person_id
        from (
            select person_id, min(occurred_at) as first_order_at
            from marts.fct_touchpoints
            where touchpoint_type = 'order' and person_id is not null
            group by person_id
        ) as first_orders
        left join marts.fct_journey_phases as spells
            on first_orders.person_id = spells.person_id
            and spells.phase = 'conversion'
            and spells.entered_at = first_orders.first_order_at
        where spells.person_id is null
        """
    )
    assert buyers.height == 0
    assert (
        built.query(
            "select count(*) from marts.fct_journey_phases where phase = 'conversion'"
        ).item()
        > 10
    )


def test_erased_person_records_never_reach_the_marts(built: BuiltWarehouse) -> None:
    suppressed = (
        f"read_parquet('{built.warehouse.identity_dir / 'identity_suppressed_records.parquet'}')"
    )
    assert built.query(f"select count(*) from {suppressed}").item() > 0
    leaked = built.query(
        f"""
        select source, stream, record_id from marts.fct_touchpoints
        intersect
        select source, stream, record_id from {suppressed}
        """
    )
    assert leaked.height == 0
    erased_touchpoints = built.query(
        f"""
        select t.record_id
        from {built.truth("touchpoints")} as t
        inner join {built.touchpoints} as m
            on t.source = m.source and t.stream = m.stream and t.record_id = m.record_id
        where t.person_key = '{built.erased_person_key}'
        """
    )
    assert erased_touchpoints.height == 0


def test_quarantined_records_are_queryable(built: BuiltWarehouse) -> None:
    quarantined = sum(
        stream["quarantined"] for load in built.landed for stream in load["streams"].values()
    )
    assert built.query("select count(*) from staging.stg_quarantine__records").item() == quarantined
