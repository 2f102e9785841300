"""fct_orders against the landed records and the generator's ground truth (truth/orders.parquet)."""

from __future__ import annotations

from tests.dbt.conftest import BuiltWarehouse

ORDER_KEY = "order_id, cast(round(total_price, 2) as decimal(18, 2)) as total_price"


def exact_persons(built: BuiltWarehouse) -> str:
    """SQL: (person_key, person_id) of the true persons the warehouse resolved exactly.

    Exactly: all the person's true touchpoints carry one person id that no other true person's
    touchpoints carry (the erased person has none and is left out).
    """
    return f"""
        with pairs as (
            select t.person_key, m.person_id
            from {built.truth("touchpoints")} as t
            inner join {built.touchpoints} as m
                on t.source = m.source and t.stream = m.stream and t.record_id = m.record_id
                and t.touchpoint_type = m.touchpoint_type
                and timezone('UTC', t.occurred_at) = m.occurred_at
        ),
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


def _truth_orders(built: BuiltWarehouse) -> str:
    """Non-test truth orders, without the erased person's."""
    return f"""
        select * from {built.truth("orders")}
        where not is_test and person_key <> '{built.erased_person_key}'
    """


def test_revenue_reconciles_exactly_with_landed_non_test_orders(
    vendor_built: BuiltWarehouse,
) -> None:
    landing = vendor_built.warehouse.landing_dir / "shopify" / "orders"
    landed = f"""
        with versions as (
            select
                record_id, record,
                row_number() over (
                    partition by record_id
                    order by record_updated_at desc nulls last, _extracted_at desc, _record_hash desc
                ) as version_rank
            from read_parquet('{landing}/**/*.parquet', union_by_name = true, hive_partitioning = false)
        )
        select
            record_id as order_id,
            cast(json_extract_string(record, '$.total_price') as decimal(18, 2)) as total_price
        from versions
        where version_rank = 1
            and not coalesce(cast(json_extract(record, '$.test') as boolean), false)
            and record_id not in (
                select order_id from {vendor_built.truth("orders")}
                where person_key = '{vendor_built.erased_person_key}'
            )
    """
    mine = f"select {ORDER_KEY} from marts.fct_orders"
    assert vendor_built.query(f"({landed}) except all ({mine})").height == 0
    assert vendor_built.query(f"({mine}) except all ({landed})").height == 0
    landed_total = vendor_built.query(f"select sum(total_price) from ({landed})").item()
    mine_total = vendor_built.query("select sum(total_price) from marts.fct_orders").item()
    assert landed_total == mine_total > 0


def test_orders_equal_truth_revenue_refunds_and_cancellations(built: BuiltWarehouse) -> None:
    columns = (
        "order_id, cast(round(total_price, 2) as decimal(18, 2)) as total_price, "
        "cast(round(refunded_amount, 2) as decimal(18, 2)) as refunded_amount, is_cancelled"
    )
    truth = f"select {columns} from ({_truth_orders(built)})"
    mine = f"select {columns} from marts.fct_orders"
    assert built.query(f"{truth} except all {mine}").height == 0
    assert built.query(f"{mine} except all {truth}").height == 0
    test_orders = built.query(
        f"select order_id from {built.truth('orders')} where is_test "
        "intersect select order_id from marts.fct_orders"
    )
    assert test_orders.height == 0
    net = built.query(
        "select count(*) from marts.fct_orders where net_revenue <> "
        "case when is_cancelled then 0 else total_price - refunded_amount end"
    ).item()
    assert net == 0


def test_first_and_repeat_flags_match_truth_where_identities_are_correct(
    built: BuiltWarehouse,
) -> None:
    compared = built.query(
        f"""
        with exact as ({exact_persons(built)})
        select truth.order_id, truth.is_first_order as truth_first, mine.is_first_order,
               mine.customer_type, mine.order_sequence
        from ({_truth_orders(built)}) as truth
        inner join exact on truth.person_key = exact.person_key
        inner join marts.fct_orders as mine
            on truth.order_id = mine.order_id and mine.person_id = exact.person_id
        """
    )
    orders = built.query(f"select count(*) from ({_truth_orders(built)})").item()
    assert compared.height >= 0.9 * orders
    assert compared.filter(compared["truth_first"] != compared["is_first_order"]).height == 0
    firsts = compared.filter(compared["is_first_order"])
    assert firsts.height > 10
    assert set(firsts["customer_type"]) == {"new"} and set(firsts["order_sequence"]) == {1}
    assert compared.filter(compared["order_sequence"] > 1)["customer_type"].unique().to_list() == [
        "repeat"
    ]


def test_dim_persons_and_touchpoints_agree_with_fct_orders(built: BuiltWarehouse) -> None:
    revenue = built.query(
        """
        select
            (select sum(revenue) from marts.dim_persons) as persons_revenue,
            (select sum(total_price) from marts.fct_orders
             where not is_cancelled and person_id is not null) as orders_revenue
        """
    ).row(0)
    assert revenue[0] == revenue[1]
    channels = built.query(
        """
        select orders.order_id
        from marts.fct_orders as orders
        inner join marts.fct_touchpoints as touchpoints
            on touchpoints.source = orders.source and touchpoints.stream = 'orders'
            and touchpoints.record_id = orders.order_id
            and touchpoints.touchpoint_type in ('order', 'order_cancelled')
        where touchpoints.channel <> orders.channel
        """
    )
    assert channels.height == 0


def test_shopify_orders_follow_shopifys_arithmetic_and_publish_its_parts(
    vendor_built: BuiltWarehouse,
) -> None:
    """Every landed order adds up to the cent (subtotal from its lines, total from its parts),
    and fct_orders publishes the parts the generator decided (truth/orders.parquet)."""
    gaps = vendor_built.query(
        "select count(*) as orders, count(*) filter (where subtotal_gap <> 0 or total_price_gap <> 0) "
        "as off from intermediate.int_shopify_orders_reconciled"
    ).row(0, named=True)
    assert gaps["orders"] > 50 and gaps["off"] == 0
    columns = [
        "subtotal_price",
        "shipping_price",
        "total_tax",
        "total_tip_received",
        "total_duties",
    ]
    rounded = ", ".join(f"cast(round({c}, 2) as decimal(18, 2)) as {c}" for c in columns)
    truth = f"select order_id, is_taxes_included, {rounded} from ({_truth_orders(vendor_built)})"
    mine = f"select order_id, is_taxes_included, {rounded} from marts.fct_orders"
    assert vendor_built.query(f"{truth} except all {mine}").height == 0
    assert vendor_built.query(f"{mine} except all {truth}").height == 0
    shapes = vendor_built.query(
        """
        select
            count(distinct is_taxes_included) as tax_modes,
            count(distinct presentment_currency) as currencies,
            count(*) filter (where total_tip_received > 0) as tipped,
            count(*) filter (where total_duties > 0) as with_duties,
            count(*) filter (where shipping_price > 0) as with_shipping
        from marts.fct_orders
        """
    ).row(0, named=True)
    assert shapes["tax_modes"] == 2 and shapes["currencies"] == 3
    assert min(shapes["tipped"], shapes["with_duties"], shapes["with_shipping"]) > 0
