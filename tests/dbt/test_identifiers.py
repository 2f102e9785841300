"""One normalisation per identifier kind (contracts §5.4): the dbt macro
`normalised_identifier`, compiled from config/identity.yml's declaration, gives exactly what
identity's Polars code gives, on awkward values of every kind."""

from __future__ import annotations

import json

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.identity.normalise import normalise_identifiers
from pipelines.identity.rules import KNOWN_KINDS, load_rules
from tests.dbt.harness import Warehouse

NBSP, IDEOGRAPHIC_SPACE, ZERO_WIDTH_SPACE = "\u00a0", "\u3000", "\u200b"
AWKWARD = [
    "",
    "   ",
    "\t\n",
    "ABCDEF0123456789",
    " abcdef0123456789 ",
    f"{NBSP}AbCdEf0123456789{IDEOGRAPHIC_SPACE}",
    f"{ZERO_WIDTH_SPACE}abc",  # not white space: kept
    "a\u2028b\u2029",
    " Ann.Lee+News@GoogleMail.com ",
    "ann.lee@gmail.com",
    "Ann@Example.COM\t",
    "a@b@c.example",
    "no-at-sign",
    "+tag@x.example",
    "ŞİŞLİ@ÖRNEK.COM.TR",
    "ΟΔΟΣ@ΕΛΛΑΔΑ.GR",
    "ΣΟΦΙΑ ΣΣ Σ",
    "STRAẞE@BEISPIEL.DE",
    "ǅemal@Example.org",
    "ПРИВЕТ@ПРИМЕР.РФ",
    "+49 (0)30 1234-5678",
    " 0043 664 12 34 567 ",
    "١٢٣",  # Arabic-Indic digits: not 0-9
    "00042",
    "Cust-42 ",
]


def sql_normalised(warehouse: Warehouse, values: pl.DataFrame, kinds: list[str]) -> pl.DataFrame:
    """The macro's SQL for each kind, compiled by dbt, run on DuckDB over `values`."""
    branches = " ".join(
        f"when '{kind}' then {{{{ normalised_identifier('{kind}', 'identifier_value') }}}}"
        for kind in kinds
    )
    inline = f"select case identifier_kind {branches} end from awkward"
    output = warehouse.dbt("compile", "--inline", inline, "--output", "json", "--quiet")
    compiled = json.loads(output[output.index("{") :])["compiled"]
    expression = compiled[len("select ") : compiled.rindex(" from awkward")]
    with duckdb.connect() as con:
        con.register("awkward", values.to_arrow())
        return con.sql(
            f"select identifier_kind, {expression} as identifier_value from awkward"
        ).pl()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Warehouse:
    return Warehouse(tmp_path_factory.mktemp("identifiers"))


def test_sql_and_polars_normalise_every_kind_alike(warehouse: Warehouse) -> None:
    rules = load_rules()
    kinds = [kind for kind in KNOWN_KINDS if kind in rules.kinds]
    values = pl.DataFrame(
        {
            "identifier_kind": [kind for kind in kinds for _ in AWKWARD],
            "identifier_value": [value for _ in kinds for value in AWKWARD],
        }
    )
    polars = normalise_identifiers(values, rules)
    sql = sql_normalised(warehouse, values, kinds)
    assert_frame_equal(sql, polars.select("identifier_kind", "identifier_value"))
    # the awkward cases do what the rules say, on both sides
    by_kind = polars.with_columns(raw=values["identifier_value"])

    def normalised(kind: str, raw: str) -> str:
        row = by_kind.filter((pl.col("identifier_kind") == kind) & (pl.col("raw") == raw))
        return row["identifier_value"].item()

    assert normalised("web_visitor_id", f"{NBSP}AbCdEf0123456789{IDEOGRAPHIC_SPACE}") == (
        "abcdef0123456789"
    )
    assert normalised("email", " Ann.Lee+News@GoogleMail.com ") == "annlee@gmail.com"
    assert normalised("email", "ΟΔΟΣ@ΕΛΛΑΔΑ.GR") == "οδος@ελλαδα.gr"
    assert normalised("phone", "+49 (0)30 1234-5678") == "4903012345678"
    assert normalised("shop_customer_id", "Cust-42 ") == "Cust-42"
