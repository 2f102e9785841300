"""The analyst and BI surface end to end (issues 21 and 18): the demo published with
pseudonymisation on and a real PostgreSQL target, then a night with an erasure request.

* the published file holds exactly the documented tables, as tables, every column commented;
* PostgreSQL equals DuckDB row for row and type for type;
* a SQLAlchemy BI tool (duckdb-engine) reflects and reads every table of a renamed copy;
* the Parquet exports equal the published tables (documented type exceptions);
* no raw email, phone or name of the demo truth is published anywhere an analyst can read;
* after the erasure night no copy the project keeps holds the erased person, and the
  generation that did is gone (rollback explains why).
"""

from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path

import adbc_driver_postgresql.dbapi as adbc
import duckdb
import polars as pl
import pytest

from devkit.postgres_server import PostgresServer
from pipelines.identity.published import published_identifiers
from pipelines.identity.rules import load_rules
from pipelines.settings import PROJECT_ROOT, Secret, temporary_environment
from pipelines.warehouse.generations import generations_dir, load_generation, read_pointer
from pipelines.warehouse.metrics import ensure_semantic_manifest
from pipelines.warehouse.postgres import PostgresTarget
from pipelines.warehouse.surface import PARQUET_CASTS, PUBLISHED_SCHEMAS
from tests.e2e.conftest import pipeline
from tests.e2e.metric_equality import DAY_CHANNEL, KPI_METRICS, MartMetrics, metric_differences
from tests.warehouse.pg_compare import differences, published_tables
from tests.warehouse.test_surface import WITHOUT_GRAIN

pytestmark = pytest.mark.e2e

PERSONS = 150
SEED = 41
KEY = "3f9c2e7a8b1d4c6e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e"


@pytest.fixture(scope="module")
def surface(tmp_path_factory):
    root = tmp_path_factory.mktemp("surface")
    erasure = root / "erasure.csv"
    erasure.write_text("identifier_kind,identifier_value,requested_at\n")
    with PostgresServer() as server:
        variables = {
            "JOURNEY_PSEUDONYMIZE_KEY": KEY,
            "JOURNEY_POSTGRES_URL": server.url,
            "JOURNEY_ERASURE_FILE": str(erasure),
        }
        with temporary_environment(variables), pipeline(root, persons=PERSONS, seed=SEED) as run:
            assert run.demo_exit_code == 0
            yield run, server.url, erasure


def _documented_tables() -> set[str]:
    """The README's "Output tables": the published surface as documented."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("## Output tables", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `((?:marts|identity)\.[a-z_]+)` \|", section, flags=re.M))


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True)


def test_the_published_file_holds_only_the_documented_tables_with_comments(surface):
    run, _, _ = surface
    con = _connect(run.settings.warehouse_path)
    try:
        schemas = {
            row[0] for row in con.execute("select schema_name from duckdb_tables()").fetchall()
        }
        assert schemas == set(PUBLISHED_SCHEMAS)
        assert con.execute("select count(*) from duckdb_views() where not internal").fetchone() == (
            0,
        )
        tables = {f"{s}.{t}" for s, t in published_tables(con)}
        assert tables == _documented_tables()
        uncommented_tables = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() "
            "where coalesce(trim(comment), '') = ''"
        ).fetchall()
        assert uncommented_tables == []
        published_columns = f"from duckdb_columns() where schema_name in {tuple(PUBLISHED_SCHEMAS)}"
        uncommented = con.execute(
            "select schema_name || '.' || table_name || '.' || column_name "
            f"{published_columns} and coalesce(trim(comment), '') = '' order by 1"
        ).fetchall()
        assert uncommented == []
        assert con.execute(f"select count(*) {published_columns}").fetchone()[0] > 300
    finally:
        con.close()


# Names of columns that hold money (README "Output tables"): they must be exact decimals.
MONEY_NAME = re.compile(r"revenue|price|amount|spend|cost|value|discount|tax|tip|dut(y|ies)|fee")


def bi_type_problems(columns: list[tuple[str, str, str]]) -> list[str]:
    """What a BI tool would mishandle among (table, column, DuckDB type): 128-bit integers,
    naive timestamps, money that is not DECIMAL(18, 2) (or a table with money and no currency
    column), nested types."""
    problems = []
    tables: dict[str, dict[str, str]] = {}
    for table, column, data_type in columns:
        tables.setdefault(table, {})[column] = data_type
    for table, types in tables.items():
        for column, data_type in types.items():
            where = f"{table}.{column} {data_type}"
            if data_type in ("HUGEINT", "UHUGEINT"):
                problems.append(f"{where}: a 128-bit integer (cast counts to BIGINT)")
            elif data_type.startswith("TIMESTAMP") and data_type != "TIMESTAMP WITH TIME ZONE":
                problems.append(f"{where}: a timestamp without time zone")
            elif data_type.startswith("DECIMAL") and data_type != "DECIMAL(18,2)":
                problems.append(f"{where}: money must be DECIMAL(18,2)")
            elif data_type in ("DOUBLE", "FLOAT") and MONEY_NAME.search(column):
                problems.append(f"{where}: money as a float")
            elif re.search(r"\[\]|^(STRUCT|MAP|UNION)", data_type):
                problems.append(f"{where}: a nested type")
        has_money = any(t.startswith("DECIMAL") for t in types.values())
        if has_money and not any(c == "currency" or c.endswith("_currency") for c in types):
            problems.append(f"{table}: money without a currency column")
    return problems


def test_bi_type_rules_catch_what_bi_tools_mishandle():
    assert bi_type_problems(
        [
            ("t", "persons", "HUGEINT"),
            ("t", "created_at", "TIMESTAMP"),
            ("t", "revenue", "DECIMAL(38,3)"),
            ("t", "average_order_value", "DOUBLE"),
            ("t", "codes", "VARCHAR[]"),
            ("t", "conversion_rate", "DOUBLE"),
            ("u", "created_at", "TIMESTAMP WITH TIME ZONE"),
            ("u", "revenue", "DECIMAL(18,2)"),
            ("u", "currency", "VARCHAR"),
        ]
    ) == [
        "t.persons HUGEINT: a 128-bit integer (cast counts to BIGINT)",
        "t.created_at TIMESTAMP: a timestamp without time zone",
        "t.revenue DECIMAL(38,3): money must be DECIMAL(18,2)",
        "t.average_order_value DOUBLE: money as a float",
        "t.codes VARCHAR[]: a nested type",
        "t: money without a currency column",
    ]


def test_every_published_column_has_a_type_bi_tools_read_correctly(surface):
    run, _, _ = surface
    con = _connect(run.settings.warehouse_path)
    try:
        columns = con.execute(
            "select schema_name || '.' || table_name, column_name, data_type from duckdb_columns() "
            f"where schema_name in {tuple(PUBLISHED_SCHEMAS)} order by 1, column_index"
        ).fetchall()
    finally:
        con.close()
    assert bi_type_problems(columns) == []
    types = {(table, column): data_type for table, column, data_type in columns}
    assert types[("marts.fct_orders", "total_price")] == "DECIMAL(18,2)"
    assert types[("marts.fct_orders", "created_at")] == "TIMESTAMP WITH TIME ZONE"
    assert types[("marts.dim_persons", "emails")] == "BIGINT"


def test_postgres_equals_duckdb_row_for_row_and_type_for_type(surface):
    run, url, _ = surface
    con = _connect(run.settings.warehouse_path)
    try:
        tables = published_tables(con)
        for schema, table in tables:
            found = differences(url, con, schema, table)
            assert found == {"types": [], "only_in_duckdb": 0, "only_in_postgres": 0}, (
                schema,
                table,
            )
    finally:
        con.close()
    with adbc.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'identity') order by 1, 2"
        )
        assert cursor.fetchall() == tables
        cursor.execute(
            "select count(*) from information_schema.table_constraints "
            "where constraint_type = 'PRIMARY KEY' and table_schema in ('marts', 'identity')"
        )
        assert cursor.fetchone()[0] == len(tables) - len(WITHOUT_GRAIN)  # grains as keys
        cursor.execute(
            "select count(*) from information_schema.columns c "
            "where table_schema in ('marts', 'identity') and col_description("
            "(quote_ident(table_schema) || '.' || quote_ident(table_name))::regclass, "
            "ordinal_position) is null"
        )
        assert cursor.fetchone()[0] == 0  # comments carried over
    pointer = read_pointer(run.settings)
    state = PostgresTarget(Secret(url)).state()
    assert state.live == pointer.current


def test_a_sqlalchemy_bi_tool_reflects_and_reads_every_table_of_a_renamed_copy(surface, tmp_path):
    import sqlalchemy as sa

    run, _, _ = surface
    copy = tmp_path / "shared_copy.duckdb"  # a view would have bound to "journey"
    shutil.copyfile(run.settings.warehouse_path, copy)
    con = _connect(copy)
    expected = {
        (schema, table): con.execute(
            "select column_name, comment from duckdb_columns() "
            "where schema_name = ? and table_name = ? order by column_index",
            [schema, table],
        ).fetchall()
        for schema, table in published_tables(con)
    }
    rows = {
        key: con.execute(f'select count(*) from "{key[0]}"."{key[1]}"').fetchone()[0]
        for key in expected
    }
    keys = load_generation(run.settings, read_pointer(run.settings).current).keys
    con.close()

    engine = sa.create_engine(f"duckdb:///{copy}", connect_args={"read_only": True})
    try:
        inspector = sa.inspect(engine)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "doesn't yet support reflection on indices"
            for schema in PUBLISHED_SCHEMAS:
                assert inspector.get_view_names(schema=schema) == []
                reflected_tables = sorted(inspector.get_table_names(schema=schema))
                assert reflected_tables == sorted(t for s, t in expected if s == schema)
            metadata = sa.MetaData()
            with engine.connect() as connection:
                for (schema, table), columns in expected.items():
                    reflected = inspector.get_columns(table, schema=schema)
                    assert [(c["name"], c["comment"]) for c in reflected] == columns, table
                    untyped = [
                        c["name"] for c in reflected if isinstance(c["type"], sa.types.NullType)
                    ]
                    assert untyped == [], table  # every type is understood
                    comment = inspector.get_table_comment(table, schema=schema)["text"]
                    key = keys.get(f"{schema}.{table}")
                    assert comment.endswith(f"Key: {', '.join(key)}.") if key else comment, table
                    handle = sa.Table(table, metadata, schema=schema, autoload_with=engine)
                    count = connection.execute(
                        sa.select(sa.func.count()).select_from(handle)
                    ).scalar()
                    assert count == rows[(schema, table)], table
                    connection.execute(sa.select(handle).limit(5)).fetchall()  # every type reads
    finally:
        engine.dispose()


def _export(settings, table: str) -> str:
    folder = settings.export_dir / "current"
    if (folder / table).is_dir():
        return f"read_parquet('{folder / table}/*/*.parquet', hive_partitioning = true)"
    return f"read_parquet('{folder / table}.parquet')"


def test_exports_equal_the_published_tables(surface):
    run, _, _ = surface
    settings = run.settings
    con = _connect(settings.warehouse_path)
    try:
        partitioned = []
        for schema, table in published_tables(con):
            source = _export(settings, table)
            published = con.execute(f'describe "{schema}"."{table}"').fetchall()
            exported = dict(
                (name, kind)
                for name, kind, *_ in con.execute(f"describe select * from {source}").fetchall()
            )
            if "partition_month" in exported:
                partitioned.append(table)
                assert exported.pop("partition_month") == "VARCHAR"
            assert list(exported.items()) == [
                (n, PARQUET_CASTS.get(k, k)) for n, k, *_ in published
            ], table
            columns = ", ".join(f'"{name}"' for name in exported)
            left, right = con.execute(
                f"""select
                    (select count(*) from (select * from "{schema}"."{table}" except all select {columns} from {source})),
                    (select count(*) from (select {columns} from {source} except all select * from "{schema}"."{table}"))"""
            ).fetchone()
            assert (left, right) == (0, 0), table
        assert sorted(partitioned) == [
            "fct_attribution", "fct_email_engagement", "fct_journey_phases", "fct_sessions", "fct_touchpoints"
        ]  # fmt: skip
    finally:
        con.close()


# --- the semantic layer ---------------------------------------------------------------------


def test_every_kpi_metric_equals_its_kpi_mart_on_the_demo_data(surface):
    run, _, _ = surface
    path = run.settings.warehouse_path
    manifest = json.loads(ensure_semantic_manifest(path).read_text())
    kpis = {m["name"] for m in manifest["metrics"] if m["config"]["meta"].get("phase")}
    checked = {metric for mart in KPI_METRICS for metric in mart.metrics}
    assert kpis == checked  # every KPI metric is compared with a mart, nothing else is a KPI
    assert {m["config"]["meta"]["phase"] for m in manifest["metrics"] if m["name"] in kpis} == {
        "awareness", "acquisition", "conversion", "retention", "loyalty", "across"
    }  # fmt: skip
    for mart in KPI_METRICS:
        assert metric_differences(path, mart) == [], mart.relation
    # the comparison can fail: visitors are not sessions
    wrong = MartMetrics("marts.kpi_awareness_daily", DAY_CHANNEL, {"visitors": "sessions"})
    assert metric_differences(path, wrong)


def test_the_readme_metric_commands_answer_from_the_published_file(surface):
    run, _, _ = surface
    listed = run.readme(".venv/bin/python -m pipelines metrics list")
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "conversion_rate" in listed.stdout and "net_promoter_score" in listed.stdout
    queried = run.readme(".venv/bin/python -m pipelines metrics query")
    assert queried.returncode == 0, queried.stderr[-2000:]
    assert "metric_time__quarter" in queried.stdout and "average_order_value" in queried.stdout
    python = run.readme("from pipelines.warehouse.metrics import query_metrics")
    assert python.returncode == 0, python.stderr[-2000:]
    expected = run.query(
        "select date_trunc('month', timezone('UTC', created_at))::date as month, channel, "
        "count(*) as orders "
        "from marts.fct_orders group by all order by all"
    )
    for month, channel, orders in expected.head(3).rows():
        assert re.search(
            rf"{month}\D[^\n]*┆ {re.escape(channel)} +┆ +{orders} +┆", python.stdout
        ), (month, channel, orders, python.stdout[-3000:])


# --- privacy ------------------------------------------------------------------------------


def _truth_secrets(dataset: Path) -> dict[str, list[str]]:
    """Raw emails, phones and full names of the demo's people, lower-case."""
    con = duckdb.connect()
    try:
        vendor = dataset / "vendor"
        emails = con.execute(
            f"select distinct lower(trim(identifier_value)) from '{dataset}/truth/identities.parquet' "
            "where identifier_kind = 'email'"
        ).fetchall()
        phones = con.execute(
            f"select distinct regexp_replace(identifier_value, '[^0-9]', '', 'g') "
            f"from '{dataset}/truth/identities.parquet' where identifier_kind = 'phone'"
        ).fetchall()
        names = con.execute(
            f"""
            select distinct lower(name) from (
                select json_extract_string(record, '$.first_name') || ' ' || json_extract_string(record, '$.last_name') as name
                from '{vendor}/shopify/customers.parquet'
                union all
                select json_extract_string(record, '$.merge_fields.FNAME') || ' ' || json_extract_string(record, '$.merge_fields.LNAME')
                from '{vendor}/mailchimp/members.parquet'
                union all
                select json_extract_string(record, '$.name') from '{vendor}/zendesk/users.parquet'
            ) where length(trim(coalesce(name, ''))) > 3
            """
        ).fetchall()
    finally:
        con.close()
    return {
        "email": [row[0] for row in emails],
        "phone": [row[0] for row in phones if len(row[0]) >= 7],
        "name": [row[0] for row in names],
    }


def _text_hits(con: duckdb.DuckDBPyConnection, relations: dict[str, str], secrets: dict) -> list:
    """(relation, column, kind) of every text value holding a secret: an email among the
    email-like parts of the text, a phone's digits among its digits, a name inside it, or a
    value equal to it."""
    for kind in ("email", "phone", "name", "value"):
        values = [v.lower() for v in secrets.get(kind, [])]
        con.register(
            f"secret_{kind}s",
            pl.DataFrame({"value": values}, schema={"value": pl.String}).to_arrow(),
        )
    hits = []
    for name, source in relations.items():
        columns = con.execute(f"describe select * from {source}").fetchall()
        for column, kind, *_ in columns:
            if kind not in ("VARCHAR", "VARCHAR[]"):
                continue
            values = f'unnest("{column}")' if kind.endswith("[]") else f'"{column}"'
            found = con.execute(
                f"""
                with text_values as (select distinct lower({values}) as v from {source})
                select
                    (select count(*) from text_values, secret_emails
                     where list_contains(regexp_extract_all(v, '[a-z0-9._%+-]+@[a-z0-9.-]+'), secret_emails.value)),
                    (select count(*) from text_values, secret_phones
                     where contains(regexp_replace(v, '[^0-9]', '', 'g'), secret_phones.value)),
                    (select count(*) from text_values, secret_names where contains(v, secret_names.value)),
                    (select count(*) from text_values join secret_values on v = secret_values.value)
                """
            ).fetchone()
            kinds = ("email", "phone", "name", "value")
            hits += [(name, column, kind) for kind, n in zip(kinds, found, strict=True) if n]
    return hits


def _readable_copies(run, url: str) -> tuple[duckdb.DuckDBPyConnection, dict[str, str]]:
    """One DuckDB connection that sees the published file, every export and PostgreSQL's live
    tables; and the relation of each copy."""
    settings = run.settings
    con = duckdb.connect()
    con.execute(f"attach '{settings.warehouse_path}' as published (read_only)")
    relations = {}
    for schema, table in con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = 'published'"
    ).fetchall():
        relations[f"duckdb {schema}.{table}"] = f'published."{schema}"."{table}"'
        relations[f"export {table}"] = _export(settings, table)
        with adbc.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute(f'select * from "{schema}"."{table}"')
            frame = cursor.fetch_arrow_table()
        view = f"postgres_{schema}_{table}"
        con.register(view, frame)
        relations[f"postgres {schema}.{table}"] = view
    return con, relations


def test_no_raw_identifier_or_name_of_the_truth_is_published(surface):
    run, url, _ = surface
    secrets = _truth_secrets(run.dataset)
    assert len(secrets["email"]) > 30 and len(secrets["name"]) > 30 and secrets["phone"]
    con, relations = _readable_copies(run, url)
    try:
        assert _text_hits(con, relations, secrets) == []
        # the check can fail: the private build state holds them (staging keeps vendor records)
        state = load_generation(run.settings, read_pointer(run.settings).current).state_file
        con.execute(f"attach '{state}' as state (read_only)")
        raw = {"state staging.stg_shopify__customers": "state.staging.stg_shopify__customers"}
        assert _text_hits(con, raw, secrets)
    finally:
        con.close()


def test_an_erasure_night_leaves_the_person_in_no_copy_the_project_keeps(surface):
    run, url, erasure = surface
    settings = run.settings
    dataset = run.dataset
    # the buyer with the most orders among the truth's people whose email is a person identifier
    truth = pl.read_parquet(dataset / "truth" / "identities.parquet").filter(
        pl.col("identifier_kind") == "email"
    )
    published = published_identifiers(
        truth.select(
            pl.col("identifier_kind").alias("kind"), pl.col("identifier_value").alias("raw_value")
        ),
        load_rules(),
        Secret(KEY),
    )
    truth = truth.with_columns(published["value"].alias("published_value"))
    con = _connect(settings.warehouse_path)
    con.register("truth_emails", truth.to_arrow())
    person_key, person_ids = con.execute(
        """
        select t.person_key, list(distinct m.person_id order by m.person_id)
        from truth_emails as t
        join identity.identity_map as m on m.identifier_value = t.published_value
        join marts.fct_orders as o on o.person_id = m.person_id
        where not starts_with(t.person_key, 'bot-')
        group by t.person_key order by count(distinct o.order_id) desc, t.person_key limit 1
        """
    ).fetchone()
    emails = truth.filter(pl.col("person_key") == person_key)["identifier_value"].unique().to_list()
    identifiers = [
        row[0]
        for row in con.execute(
            "select identifier_value from identity.identity_map where person_id in (select unnest(?))",
            [person_ids],
        ).fetchall()
    ]
    con.close()
    assert person_ids and emails and identifiers, person_key
    before = read_pointer(settings)

    erasure.write_text(
        "identifier_kind,identifier_value,requested_at\n"
        + "".join(f"email,{email},2026-09-30T12:00:00Z\n" for email in emails)
    )
    outcome = run.run()
    assert outcome.success, outcome.report_path.with_suffix(".md").read_text()
    publish_metadata = outcome.report["publish"]
    assert before.current in publish_metadata["previous_discarded"]

    # the generation that held the person is gone, with every copy of it
    pointer = read_pointer(settings)
    assert pointer.previous is None and "erasure list" in pointer.previous_discarded
    assert [p.name for p in generations_dir(settings).iterdir() if p.is_dir()] == [pointer.current]
    assert not settings.previous_warehouse_path.exists()
    assert not (settings.export_dir / "previous").exists()
    assert sorted(p.name for p in settings.export_dir.iterdir()) == sorted(
        ["current", pointer.current]
    )
    state = PostgresTarget(Secret(url)).state()
    assert (state.live, state.previous, state.next) == (pointer.current, None, None)
    assert {"marts__previous", "identity__previous"}.isdisjoint(state.present)

    # no readable copy, and no analyst table of the private state, holds the person
    needles = {"value": person_ids + identifiers}
    con, relations = _readable_copies(run, url)
    try:
        state_file = load_generation(settings, pointer.current).state_file
        con.execute(f"attach '{state_file}' as state (read_only)")
        for schema, table in con.execute(
            "select schema_name, table_name from duckdb_tables() "
            f"where database_name = 'state' and schema_name in {tuple(PUBLISHED_SCHEMAS)}"
        ).fetchall():
            relations[f"state {schema}.{table}"] = f'state."{schema}"."{table}"'
        assert _text_hits(con, relations, needles) == []
    finally:
        con.close()

    from pipelines.cli import main as cli

    assert cli(["rollback"]) == 2  # "nothing to roll back to: ... erasure list ..."
    report = json.loads(outcome.report_path.read_text())
    assert report["published"] is True
