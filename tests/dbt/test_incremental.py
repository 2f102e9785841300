"""A chain of incremental nights equals a full refresh of the same data, row for row, in every
published table (vendor path; the chain is built in tests/dbt/conftest.py)."""

from __future__ import annotations

import duckdb
import polars as pl

from tests.dbt.conftest import (
    CHAIN,
    CHAIN_IDENTITIES,
    EARLIER_SHIPPING_TITLE,
    INCREMENTAL_CHILDREN,
    INCREMENTAL_COPY,
    BuiltWarehouse,
    published_tables,
)


def _differences(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, int]:
    chain = f"{INCREMENTAL_COPY}.{schema}__{table}"
    full = f"{schema}.{table}"
    # `except all`: a row duplicated on one side only is a difference too
    return {
        "rows": con.sql(f"select count(*) from {full}").fetchone()[0],
        "only_in_chain": con.sql(
            f"select count(*) from (from {chain} except all from {full})"
        ).fetchone()[0],
        "only_in_full_refresh": con.sql(
            f"select count(*) from (from {full} except all from {chain})"
        ).fetchone()[0],
    }


def test_a_chain_of_incremental_nights_publishes_what_a_full_refresh_publishes(
    vendor_built: BuiltWarehouse,
) -> None:
    with duckdb.connect(str(vendor_built.warehouse.database), read_only=True) as con:
        tables = published_tables(con)
        copied = {
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = ?", [INCREMENTAL_COPY]
            ).fetchall()
        }
        compared = {
            f"{schema}.{table}": _differences(con, schema, table) for schema, table in tables
        }
        columns_differ = [
            f"{schema}.{table}"
            for schema, table in tables
            if con.execute(
                "select list(column_name order by column_index) from duckdb_columns() "
                "where schema_name = ? and table_name = ?",
                [schema, table],
            ).fetchone()
            != con.execute(
                "select list(column_name order by column_index) from duckdb_columns() "
                "where schema_name = ? and table_name = ?",
                [INCREMENTAL_COPY, f"{schema}__{table}"],
            ).fetchone()
        ]
    children = {f"staging__{table}" for table in INCREMENTAL_CHILDREN}
    assert {f"{schema}__{table}" for schema, table in tables} | children == copied
    assert columns_differ == []
    differing = {
        name: counts
        for name, counts in compared.items()
        if counts["only_in_chain"] or counts["only_in_full_refresh"]
    }
    assert differing == {}
    # the comparison is not vacuous: the marts the incremental models feed hold data
    for name in ("marts.fct_touchpoints", "marts.fct_sessions", "marts.fct_journey_phases",
                 "marts.fct_attribution", "marts.fct_orders", "marts.fct_support_tickets"):  # fmt: skip
        assert compared[name]["rows"] > 20, (name, compared[name])


def test_each_later_night_landed_only_new_versions(vendor_built: BuiltWarehouse) -> None:
    # Every later night landed only versions earlier nights had not, and fewer records than
    # the first night landed in all: the chain's builds were incremental ones.
    counts = [
        vendor_built.query(
            "select count(*) from read_parquet("
            f"'{vendor_built.warehouse.landing_dir}/*/*/**/{run}-*.parquet')"
        ).item()
        for run, _ in CHAIN
    ]
    first, *later = counts
    assert all(0 < count < first for count in later), counts
    # no version landed by two nights (one night may land a version twice, as vendors send it)
    landed_again = vendor_built.query(
        "with landed as (select regexp_extract(filename, 'landing/([^/]+/[^/]+)/', 1) as stream, "
        "regexp_extract(filename, '/(run-[0-9]+)-', 1) as run_id, record_id, _record_hash "
        f"from read_parquet('{vendor_built.warehouse.landing_dir}/*/*/**/run-*.parquet', "
        "union_by_name = true, filename = true)) "
        "select count(*) from (select stream, record_id, _record_hash from landed "
        "group by all having count(distinct run_id) > 1)"
    ).item()
    assert landed_again == 0


def test_the_chain_moves_records_between_persons(vendor_built: BuiltWarehouse) -> None:
    # The person-grain incremental models (int_affected_persons) must follow records whose
    # person changed between nights: identity re-stitches the whole history, so a later night
    # merges persons (records of two earlier persons now share one) and moves records. The
    # equality above covers those cases only if the chain has them: it does.
    moves = []
    for night in range(1, len(CHAIN)):
        before, after = (f"{CHAIN_IDENTITIES}.record_persons_{n}" for n in (night - 1, night))
        moves.append(
            vendor_built.query(
                f"""
                with both_nights as (
                    select before.person_id as before_person, after.person_id as after_person
                    from {before} as before
                    inner join {after} as after using (source, stream, record_id)
                )
                select
                    count(*) filter (where before_person is distinct from after_person) as moved,
                    (select count(*) from (
                        select after_person from both_nights
                        group by after_person having count(distinct before_person) > 1
                    )) as merged
                from both_nights
                """
            ).row(0, named=True)
        )
    assert moves[0]["merged"] > 0, moves  # night 2 merges persons of night 1
    assert all(night["moved"] > 0 for night in moves), moves


def test_the_chain_updates_an_order_between_nights(vendor_built: BuiltWarehouse) -> None:
    # Shopify's order children (stg_shopify__order_lines, stg_shopify__refunds,
    # stg_shopify__order_shipping_lines, stg_shopify__order_discount_codes) are incremental per
    # order: an order's children are replaced when a new version of it lands. The equality above
    # covers that only if an order landed on one night changes its children on a later one
    # (conftest.update_one_order_between_nights): it gains a line and a refund, its shipping
    # line changes and it loses its only discount code (a new version without any, which a
    # delete+insert keyed on the new rows would not remove); the chain holds the later version's
    # children, and fct_orders publishes it.
    landed = vendor_built.query(
        "select record_id, regexp_extract(filename, '/(run-[0-9]+)-', 1) as run_id, "
        "json_array_length(record -> '$.line_items') as line_items, "
        "json_array_length(record -> '$.refunds') as refunds, "
        "json_array_length(record -> '$.shipping_lines') as shipping_lines, "
        "record ->> '$.shipping_lines[0].title' as shipping_title, "
        "json_array_length(record -> '$.discount_codes') as discount_codes "
        f"from read_parquet('{vendor_built.warehouse.landing_dir}/shopify/orders/**/run-*.parquet', "
        "filename = true)"
    )
    first, second = (landed.filter(pl.col("run_id") == run) for run in ("run-1", "run-2"))
    updated = first.join(second, on="record_id", suffix="_later").filter(
        (pl.col("line_items_later") > pl.col("line_items"))
        & (pl.col("refunds") == 0)
        & (pl.col("refunds_later") > 0)
        & (pl.col("discount_codes") == 1)
        & (pl.col("discount_codes_later") == 0)
        & (pl.col("shipping_title") == EARLIER_SHIPPING_TITLE)
        & (pl.col("shipping_title_later") != EARLIER_SHIPPING_TITLE)
    )
    assert updated.height == 1, landed
    order = updated.row(0, named=True)
    with duckdb.connect(str(vendor_built.warehouse.database), read_only=True) as con:
        chain = {
            table: con.execute(
                f"select count(*) from {INCREMENTAL_COPY}.staging__{table} where order_id = ?",
                [order["record_id"]],
            ).fetchone()[0]
            for table in INCREMENTAL_CHILDREN
        }
        shipping_titles = con.execute(
            "select list(shipping_title order by shipping_line_index) "
            f"from {INCREMENTAL_COPY}.staging__stg_shopify__order_shipping_lines where order_id = ?",
            [order["record_id"]],
        ).fetchone()[0]
        # the chain's order children equal the full refresh's, row for row
        differing = {table: _differences(con, "staging", table) for table in INCREMENTAL_CHILDREN}
        published = con.execute(
            "select refunded_amount, discount_codes "
            f"from {INCREMENTAL_COPY}.marts__fct_orders where order_id = ?",
            [order["record_id"]],
        ).fetchone()
    assert chain == {
        "stg_shopify__order_lines": order["line_items_later"],
        "stg_shopify__refunds": order["refunds_later"],
        "stg_shopify__order_shipping_lines": order["shipping_lines_later"],
        "stg_shopify__order_discount_codes": 0,
    }
    assert shipping_titles == [order["shipping_title_later"]]
    assert {
        t: c for t, c in differing.items() if c["only_in_chain"] or c["only_in_full_refresh"]
    } == {}
    assert published is not None and published[0] > 0 and published[1] is None, published


def test_the_chain_removes_persons_with_rows_in_the_person_grain_marts(
    vendor_built: BuiltWarehouse,
) -> None:
    # fct_touchpoints, fct_attribution and dim_persons are incremental by person: a person id
    # that vanishes between nights (merged into another, erased) must lose its rows there, and
    # the equality test proves they do only if the chain has such ids with rows in those marts.
    # Per later night: the person ids of the night before that vanished, how many of them had
    # touchpoints (so rows in fct_touchpoints and dim_persons) and non-cancelled orders (so
    # rows in fct_attribution), and how many persons that night merged from several.
    nights = []
    for night in range(1, len(CHAIN)):
        before, after = (f"{CHAIN_IDENTITIES}.record_persons_{n}" for n in (night - 1, night))
        nights.append(
            vendor_built.query(
                f"""
                with pairs as (
                    select before.person_id as before_person, after.person_id as after_person,
                        source, stream, record_id
                    from {before} as before
                    left join {after} as after using (source, stream, record_id)
                ),
                vanished as (
                    select distinct before_person as person_id from pairs
                    where before_person not in (
                        select after_person from pairs where after_person is not null
                    )
                ),
                vanished_records as (
                    select vanished.person_id, pairs.source, pairs.stream, pairs.record_id
                    from vanished inner join pairs on vanished.person_id = pairs.before_person
                ),
                orders as (
                    select source, 'orders' as stream, order_id as record_id
                    from intermediate.int_orders_unioned where not is_cancelled and not is_test
                )
                select
                    (select count(*) from vanished) as vanished,
                    (select count(distinct person_id) from vanished_records
                        inner join intermediate.int_touchpoints using (source, stream, record_id)
                    ) as with_touchpoints,
                    (select count(distinct person_id) from vanished_records
                        inner join orders using (source, stream, record_id)) as with_orders,
                    (select count(*) from (
                        select after_person from pairs where after_person is not null
                        group by after_person having count(distinct before_person) > 1
                    )) as merged,
                    (select count(*) from {INCREMENTAL_COPY}.marts__dim_persons
                        where person_id in (select person_id from vanished)) as left_in_chain
                """
            ).row(0, named=True)
        )
    merge_night, erasure_night = nights
    assert merge_night["merged"] > 0 and merge_night["with_touchpoints"] > 0, nights
    assert erasure_night["with_touchpoints"] > 0 and erasure_night["with_orders"] > 0, nights
    assert all(night["left_in_chain"] == 0 for night in nights), nights
