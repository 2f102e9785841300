"""The real mart suites (`expectations/marts/`) on a small hand-built warehouse: all pass on
clean data, and each corruption trips the check meant for it, on the right rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.quality.frames import warehouse_frame
from pipelines.quality.pushdown import supports
from pipelines.quality.runner import RunInfo, validate_frame, validate_warehouse
from pipelines.quality.suites import WarehouseFrame, load_suites

SUITES = {s.name: s for s in load_suites() if isinstance(s.frame, WarehouseFrame)}
RUN = RunInfo(run_id="test")

CLEAN = """
create schema marts;
create schema identity;
create table identity.identity_map as select * from (values
    ('email', 'ann@x.com', 'p1', timestamp '2026-01-01', timestamp '2026-03-01'),
    ('web_visitor_id', 'aaaa', 'p1', timestamp '2026-01-01', timestamp '2026-02-01'),
    ('email', 'bob@x.com', 'p2', timestamp '2026-01-05', timestamp '2026-01-05')
) as t(identifier_kind, identifier_value, person_id, first_seen_at, last_seen_at);
create table marts.dim_persons as select * from (values
    ('p1', 2, 'repeat', false, 150.00), ('p2', 1, 'prospect', false, 0.00)
) as t(person_id, identifiers, segment, is_anonymous, revenue);
create table marts.fct_orders as select * from (values
    ('o1', 'shopify', 'p1', timestamp '2026-01-03 10:00', null, false, true, 1, 100.00, 0.00, 0.00, 100.00),
    ('o2', 'shopify', 'p1', timestamp '2026-02-03 10:00', null, false, false, 2, 50.00, 5.00, 10.00, 40.00),
    ('o3', 'shopify', 'p1', timestamp '2026-02-04 10:00', timestamp '2026-02-05 10:00', true, false, null, 30.00, 0.00, 0.00, 0.00)
) as t(order_id, source, person_id, created_at, cancelled_at, is_cancelled, is_first_order,
       order_sequence, total_price, total_discounts, refunded_amount, net_revenue);
create schema intermediate;
create table intermediate.int_shopify_orders_reconciled as select * from (values
    ('o1', 95.10, 95.10, 0.000, 100.00, 0.000),
    ('o2', 50.00, 50.00, 0.000, 50.00, 0.000),
    ('o3', 25.10, 25.10, 0.000, 30.00, 0.000)
) as t(order_id, subtotal_price, expected_subtotal_price, subtotal_gap, expected_total_price,
       total_price_gap);
create table marts.fct_attribution as select * from (values
    ('a1', 'o1', 'first_touch', 1.0, 100.00),
    ('a2', 'o1', 'linear', 0.5, 50.00),
    ('a3', 'o1', 'linear', 0.5, 50.00),
    ('a4', 'o2', 'first_touch', 1.0, 50.00),
    ('a5', 'o2', 'linear', 1.0, 50.00)
) as t(attribution_id, order_id, attribution_model, credit, attributed_revenue);
create table marts.fct_support_tickets as select * from (values
    ('k1', 'p2', timestamp '2026-01-06 10:00', timestamp '2026-01-07 10:00', 'solved', 0, 'good')
) as t(ticket_id, person_id, created_at, solved_at, ticket_status, reopens, csat_score);
create table marts.fct_touchpoints as select * from (values
    ('t1', 'p1', timestamp '2026-01-01 10:00', 'matomo', 'visits', '1', 'page_view', 'awareness', 1),
    ('t2', 'p1', timestamp '2026-01-02 10:00', 'matomo', 'visits', '2', 'product_view', 'consideration', 2),
    ('t3', 'p1', timestamp '2026-06-01 10:00', 'matomo', 'visits', '3', 'page_view', 'awareness', 1),
    ('t4', 'p2', timestamp '2026-01-05 10:00', 'mailchimp', 'members', 'm', 'newsletter_signup', 'consideration', 2)
) as t(touchpoint_id, person_id, occurred_at, source, stream, record_id, touchpoint_type, phase, phase_rank);
create table marts.fct_sessions as select * from (values
    ('s1', 'aaaa', 'p1', timestamp '2026-01-01 10:00', timestamp '2026-01-01 10:20', 'first'),
    ('s2', 'aaaa', 'p1', timestamp '2026-01-02 10:00', timestamp '2026-01-02 10:00', 'inactivity')
) as t(session_id, web_visitor_id, person_id, started_at, ended_at, split_reason);
create table marts.fct_journey_phases as select * from (values
    ('j1', 'p1', 1, 1, 'awareness', 1, timestamp '2026-01-01 10:00', timestamp '2026-01-02 10:00', false),
    ('j2', 'p1', 2, 1, 'consideration', 2, timestamp '2026-01-02 10:00', timestamp '2026-06-01 10:00', false),
    ('j3', 'p1', 3, 2, 'awareness', 1, timestamp '2026-06-01 10:00', null, true),
    ('j4', 'p2', 1, 1, 'consideration', 2, timestamp '2026-01-05 10:00', null, true)
) as t(journey_phase_spell_id, person_id, spell_number, episode_number, phase, phase_rank,
       entered_at, exited_at, is_current);
"""


@pytest.fixture(scope="module")
def clean_warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("marts") / "journey.duckdb"
    con = duckdb.connect(str(path))
    con.execute(CLEAN)
    con.close()
    return path


@pytest.fixture
def warehouse(clean_warehouse, tmp_path) -> Path:
    path = tmp_path / "journey.duckdb"
    shutil.copy(clean_warehouse, path)
    return path


def _validate(path: Path, suite_name: str, session):
    """As the nightly job validates: pushed down to DuckDB, GX on the offending rows."""
    return validate_warehouse(SUITES[suite_name], path, RUN, session=session)


def _whole_frame(path: Path, suite_name: str, session):
    """As before the pushdown: GX on a pandas copy of the whole frame."""
    suite = SUITES[suite_name]
    return validate_frame(suite, warehouse_frame(path, suite.frame), RUN, session=session)


def test_every_mart_suite_is_pushed_down():
    assert [name for name, suite in SUITES.items() if not supports(suite)] == []


@pytest.mark.parametrize("suite_name", sorted(SUITES))
def test_every_mart_suite_passes_on_clean_data(suite_name, clean_warehouse, gx_session):
    outcomes = _validate(clean_warehouse, suite_name, gx_session)
    assert [o.message for o in outcomes if not o.passed] == []


CORRUPTIONS = {
    "duplicated touchpoint": (
        "insert into marts.fct_touchpoints select * from marts.fct_touchpoints where touchpoint_id = 't2'",
        "marts.fct_touchpoints",
        "touchpoint_id_unique",
        2,
        {"touchpoint_id": "t2"},
    ),
    "future touchpoint": (
        "update marts.fct_touchpoints set occurred_at = now()::timestamp + interval 3 day "
        "where touchpoint_id = 't4'",
        "marts.fct_touchpoints",
        "occurred_at_in_range",
        1,
        {"touchpoint_id": "t4"},
    ),
    "null touchpoint id": (
        "update marts.fct_touchpoints set touchpoint_id = null where touchpoint_id = 't3'",
        "marts.fct_touchpoints",
        "touchpoint_id_not_null",
        1,
        {"record_id": "3"},
    ),
    "session ends before it starts": (
        "update marts.fct_sessions set ended_at = started_at - interval 1 minute "
        "where session_id = 's1'",
        "marts.fct_sessions",
        "ended_after_started",
        1,
        {"session_id": "s1"},
    ),
    "phase falls within an episode": (
        "update marts.fct_journey_phases set episode_number = 1 where journey_phase_spell_id = 'j3'",
        "marts.fct_journey_phases",
        "phase_rises_within_episode",
        1,
        {"journey_phase_spell_id": "j3"},
    ),
    "spells out of time order": (
        "update marts.fct_journey_phases set entered_at = timestamp '2025-12-01' "
        "where journey_phase_spell_id = 'j2'",
        "marts.fct_journey_phases",
        "spells_in_time_order",
        1,
        {"journey_phase_spell_id": "j2"},
    ),
    "two current spells": (
        "update marts.fct_journey_phases set is_current = true where journey_phase_spell_id = 'j1'",
        "marts.fct_journey_phases",
        "one_current_spell_per_person",
        3,
        {"person_id": "p1"},
    ),
    "person without identifiers": (
        "delete from identity.identity_map where person_id = 'p2'",
        "marts.dim_persons",
        "person_has_identifiers",
        1,
        {"person_id": "p2"},
    ),
    "fact refers to an unknown person": (
        "update marts.fct_sessions set person_id = 'p9' where session_id = 's2'",
        "marts.dim_persons",
        "person_has_identifiers",
        1,
        {"person_id": "p9", "used_in": "fct_sessions"},
    ),
    "over-merged cluster": (
        "insert into identity.identity_map select 'web_visitor_id', 'v' || i, 'p2', "
        "timestamp '2026-01-01', timestamp '2026-01-01' from range(250) as r(i)",
        "marts.dim_persons",
        "cluster_size_bounded",
        1,
        {"person_id": "p2", "identifiers_in_map": 251},
    ),
    "duplicated order id": (
        "insert into marts.fct_orders select * from marts.fct_orders where order_id = 'o2'",
        "marts.fct_orders",
        "order_id_unique",
        2,
        {"order_id": "o2"},
    ),
    "future order": (
        "update marts.fct_orders set created_at = now()::timestamp + interval 2 day "
        "where order_id = 'o1'",
        "marts.fct_orders",
        "created_at_in_range",
        1,
        {"order_id": "o1"},
    ),
    "total price does not follow Shopify's arithmetic": (
        "update intermediate.int_shopify_orders_reconciled set total_price_gap = 0.01 "
        "where order_id = 'o1'",
        "marts.fct_orders",
        "total_price_reconciles_with_shopify_arithmetic",
        1,
        {"order_id": "o1", "total_price_gap": 0.01},
    ),
    "subtotal does not reconcile with line items": (
        "update intermediate.int_shopify_orders_reconciled set subtotal_gap = -4.90 "
        "where order_id = 'o3'",
        "marts.fct_orders",
        "subtotal_reconciles_with_line_items",
        1,
        {"order_id": "o3", "subtotal_gap": -4.9},
    ),
    "two first orders": (
        "update marts.fct_orders set is_first_order = true where order_id = 'o2'",
        "marts.fct_orders",
        "one_first_order_per_person",
        3,
        {"person_id": "p1", "first_orders_of_person": 2},
    ),
    "credits do not sum to one": (
        "update marts.fct_attribution set credit = 0.6 where attribution_id = 'a2'",
        "marts.fct_attribution",
        "credits_sum_to_one",
        1,
        {"order_id": "o1", "attribution_model": "linear"},
    ),
    "attributed revenue does not reconcile": (
        "update marts.fct_attribution set attributed_revenue = 49.0 where attribution_id = 'a4'",
        "marts.fct_attribution",
        "revenue_reconciles_with_orders",
        1,
        {"order_id": "o2", "attribution_model": "first_touch", "attributed_revenue": 49.0},
    ),
    "order without attribution": (
        "delete from marts.fct_attribution where order_id = 'o2' and attribution_model = 'linear'",
        "marts.fct_attribution",
        "every_order_attributed",
        1,
        {"order_id": "o2", "attribution_model": "linear"},
    ),
    "cancelled order attributed": (
        "insert into marts.fct_attribution values ('a6', 'o3', 'first_touch', 1.0, 30.00)",
        "marts.fct_attribution",
        "attributed_orders_are_orders",
        1,
        {"order_id": "o3"},
    ),
    "person revenue does not reconcile": (
        "update marts.dim_persons set revenue = 180.00 where person_id = 'p1'",
        "marts.dim_persons",
        "revenue_reconciles_with_orders",
        1,
        {"person_id": "p1", "revenue": 180.0, "orders_revenue": 150.0},
    ),
    "duplicated ticket": (
        "insert into marts.fct_support_tickets select * from marts.fct_support_tickets",
        "marts.fct_support_tickets",
        "ticket_id_unique",
        2,
        {"ticket_id": "k1"},
    ),
    "identifier in two persons": (
        "insert into identity.identity_map values "
        "('email', 'bob@x.com', 'p1', timestamp '2026-01-01', timestamp '2026-01-01')",
        "marts.identity_map",
        "identifier_unique",
        2,
        {"identifier_value": "b***@x.com"},  # masked: samples hold no raw e-mails
    ),
}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_each_corruption_trips_its_check(name, warehouse, gx_session):
    statement, suite_name, check, failed_rows, sample_subset = CORRUPTIONS[name]
    con = duckdb.connect(str(warehouse))
    con.execute(statement)
    con.close()
    outcomes = {o.check: o for o in _validate(warehouse, suite_name, gx_session)}
    outcome = outcomes[check]
    assert not outcome.passed
    assert outcome.blocking
    assert outcome.failed_rows == failed_rows
    assert outcome.sample, "the sample shows the offending rows"
    assert sample_subset.items() <= outcome.sample[0].items()
    # exactly what GX on a pandas copy of the whole frame says, for every check of the suite
    whole = _whole_frame(warehouse, suite_name, gx_session)
    assert [o.as_dict() for o in outcomes.values()] == [o.as_dict() for o in whole]
