"""The PostgreSQL target against a real, throwaway PostgreSQL server: exact types, keys,
indexes, comments, grants, the atomic swap, rollback, and failures that change nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import adbc_driver_postgresql.dbapi as adbc
import duckdb
import pytest

from pipelines.settings import Secret
from pipelines.warehouse.build import BuildLock
from pipelines.warehouse.generations import read_pointer
from pipelines.warehouse.postgres import PostgresError, PostgresTarget, postgres_type
from pipelines.warehouse.publish import PublishError, publish, rollback
from tests.warehouse.builds import SPEC, build, orders, settings_for
from tests.warehouse.pg_compare import EXPECTED_POSTGRES_TYPES, differences, published_tables


@pytest.fixture
def database(postgres_url, request) -> Iterator[str]:
    """A fresh database of the session's server for one test."""
    name = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:60]
    with adbc.connect(postgres_url, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(f"drop database if exists {name}")
        cursor.execute(f"create database {name}")
    yield postgres_url.rsplit("/", 1)[0] + "/" + name


def _query(url: str, sql: str) -> list[tuple]:
    with adbc.connect(url, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall() if cursor.description else []


def _state(url: str):
    return PostgresTarget(Secret(url)).state()


def test_the_type_mapping_is_exact_and_refuses_what_it_cannot_hold():
    for duckdb_type, expected in EXPECTED_POSTGRES_TYPES.items():
        mapped = postgres_type(duckdb_type)
        short = {"timestamp": "timestamp without time zone", "timestamptz": "timestamp with time zone",
                 "time": "time without time zone"}  # fmt: skip
        assert short.get(mapped, mapped) == expected, duckdb_type
    for refused in (
        "STRUCT(a INTEGER)",
        "MAP(VARCHAR, INTEGER)",
        "VARCHAR[][]",
        "TIMESTAMP_NS",
        "UHUGEINT",
    ):
        with pytest.raises(PostgresError, match="no exact PostgreSQL type"):
            postgres_type(refused)


def test_every_mapped_type_round_trips_value_for_value(tmp_path, database):
    source = tmp_path / "published.duckdb"
    con = duckdb.connect(str(source))
    con.execute("create schema marts")
    con.execute("create schema identity")
    con.execute(
        """
        create table marts.every_type as select * from (values
          (1, true, 1::tinyint, 2::smallint, 3, 4::bigint, -99999999999999999999999999999999999999::hugeint,
           255::utinyint, 65535::usmallint, 4294967295::uinteger, 18446744073709551615::ubigint,
           1.5::float, 1e300::double, 12345678.91::decimal(18,2), 123456789012345678901234567890123456.78::decimal(38,2),
           'Zoë ☕ "quoted"', date '2026-02-28', time '23:59:59.123456', timestamp '2026-01-02 03:04:05.123456',
           timestamptz '2026-06-30 22:00:00+00', interval 3 day + interval 4 hour,
           uuid '6f9619ff-8b86-d011-b42d-00c04fc964ff', '\\xAA\\x00'::blob,
           ['a', null, 'c'], [1, 2]::bigint[], [1.25, null]::decimal(38,2)[], '{"a": [1, 2]}'::json),
          (2, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
           null, null, null, null, null, null, null, null, null, null, null, null)
        ) as t(id, b, ti, si, i, bi, hi, uti, usi, ui, ubi, f, d, m18, m38, s, dt, tm, ts, tz, iv, u, bl, ls, lb, lm, j)
        """
    )
    con.close()

    PostgresTarget(Secret(database)).load("g1", source, {"marts.every_type": ["id"]})

    con = duckdb.connect(str(source), read_only=True)
    found = differences(database, con, "marts", "every_type", postgres_schema="marts__next")
    con.close()
    assert found == {"types": [], "only_in_duckdb": 0, "only_in_postgres": 0}


def test_publish_and_rollback_follow_in_postgres(tmp_path, database):
    settings = settings_for(tmp_path, JOURNEY_POSTGRES_URL=database)
    build(settings, "run-1", [1, 2])
    first = publish(settings, run_id="run-1", spec=SPEC)
    assert first.postgres == f"generation {first.generation}"
    build(settings, "run-2", [1, 2, 3])
    second = publish(settings, run_id="run-2", spec=SPEC)
    state = _state(database)
    assert (state.live, state.previous, state.next) == (second.generation, first.generation, None)

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    for schema, table in published_tables(con):
        assert differences(database, con, schema, table) == {
            "types": [], "only_in_duckdb": 0, "only_in_postgres": 0
        }, (schema, table)  # fmt: skip
    con.close()
    keys = _query(
        database,
        "select tc.table_name, string_agg(kcu.column_name, ',' order by kcu.ordinal_position) "
        "from information_schema.table_constraints tc join information_schema.key_column_usage kcu "
        "using (constraint_schema, constraint_name) where tc.constraint_type = 'PRIMARY KEY' "
        "and tc.table_schema = 'marts' group by 1 order by 1",
    )
    assert keys == [("dim_persons", "person_id"), ("fct_orders", "order_id")]
    indexes = _query(
        database, "select indexname from pg_indexes where schemaname = 'marts' order by 1"
    )
    assert indexes == [("dim_persons_pkey",), ("fct_orders__person_id_idx",), ("fct_orders_pkey",)]
    comments = _query(
        database,
        "select obj_description('marts.fct_orders'::regclass, 'pg_class'), "
        "col_description('marts.fct_orders'::regclass, 1)",
    )
    assert comments == [("One row per order. Key: order_id.", "The order's id.")]

    rollback(settings)
    assert _query(database, "select order_id from marts.fct_orders order by 1") == [("1",), ("2",)]
    state = _state(database)
    assert (state.live, state.previous) == (first.generation, second.generation)
    rollback(settings)
    assert _query(database, "select count(*) from marts.fct_orders") == [(3,)]


def test_a_failed_copy_publishes_nothing_anywhere(tmp_path, database):
    settings = settings_for(tmp_path, JOURNEY_POSTGRES_URL=database)
    build(settings, "run-1", [1])
    first = publish(settings, run_id="run-1", spec=SPEC)
    path = build(settings, "run-2", [1, 2])
    con = duckdb.connect(str(path))
    con.execute(
        "update marts.fct_orders set person_id = 'p' || chr(0) where order_id = '2'"
    )  # PostgreSQL text cannot hold NUL
    con.close()
    with pytest.raises(PublishError) as failure:
        publish(settings, run_id="run-2", spec=SPEC)
    message = str(failure.value)
    assert "\n" not in message
    assert (
        message.startswith("PostgreSQL load of generation") and "(marts.dim_persons)" in message
    )  # first with the NUL
    assert "nothing was published" in message
    assert read_pointer(settings).current == first.generation
    assert orders(settings.warehouse_path) == ["1"]
    state = _state(database)
    assert (state.live, state.next) == (first.generation, None)  # the load left nothing behind
    assert _query(database, "select count(*) from marts.fct_orders") == [(1,)]

    BuildLock(settings.build_dir / ".lock", "run-2").release()  # what the end of a run does
    build(settings, "run-3", [1, 2, 3])  # the next good night publishes to both
    third = publish(settings, run_id="run-3", spec=SPEC)
    assert _state(database).live == third.generation
    assert _query(database, "select count(*) from marts.fct_orders") == [(3,)]


def test_readers_keep_their_grants_across_swaps(tmp_path, database):
    settings = settings_for(tmp_path, JOURNEY_POSTGRES_URL=database)
    build(settings, "run-1", [1])
    publish(settings, run_id="run-1", spec=SPEC)
    _query(database, "drop role if exists bi_reader")
    _query(database, "create role bi_reader")
    _query(database, "grant usage on schema marts to bi_reader")
    _query(database, "grant select on all tables in schema marts to bi_reader")
    build(settings, "run-2", [1, 2])
    publish(settings, run_id="run-2", spec=SPEC)
    assert _query(
        database,
        "select has_schema_privilege('bi_reader', 'marts', 'usage'), "
        "has_table_privilege('bi_reader', 'marts.fct_orders', 'select')",
    ) == [(True, True)]


def test_an_unreachable_server_fails_in_one_line_without_the_password(tmp_path, postgres_url):
    port = int(re.search(r":(\d+)/", postgres_url).group(1))
    url = f"postgresql://journey:s3cret-pw@127.0.0.1:{port + 1 if port < 65535 else port - 1}/x"
    settings = settings_for(tmp_path, JOURNEY_POSTGRES_URL=url)
    build(settings, "run-1", [1])
    with pytest.raises(PublishError) as failure:
        publish(settings, run_id="run-1", spec=SPEC)
    message = str(failure.value)
    assert "cannot connect to PostgreSQL" in message and "\n" not in message
    assert "s3cret-pw" not in message and "s3cret-pw" not in repr(failure.value.__cause__)
    assert not settings.warehouse_path.exists()


def test_a_schema_postgres_holds_for_someone_else_is_never_replaced(tmp_path, database):
    _query(database, "create schema marts")
    _query(database, "create table marts.theirs (x integer)")
    settings = settings_for(tmp_path, JOURNEY_POSTGRES_URL=database)
    build(settings, "run-1", [1])
    with pytest.raises(
        PublishError, match="schema marts exists in PostgreSQL but was not created by Journey"
    ):
        publish(settings, run_id="run-1", spec=SPEC)
    assert _query(database, "select count(*) from marts.theirs") == [(0,)]
