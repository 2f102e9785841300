"""The identity step on Spark (pipelines/spark/identity.py) publishes exactly the one-machine
stitch's tables — person ids, merges, splits, rejections, suppressed records — on synthetic
evidence with the stitcher's traps (junk and test e-mails, generic mailboxes, shared devices),
over two nights: the second with the first night's map, an erasure, and merges. Issue 22.
Marked `spark` (deselect locally with -m "not spark"); one Spark session for the module."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from devkit.identity.synthetic import generate_evidence
from pipelines.identity.contract import EVIDENCE_SCHEMA, RECORD
from pipelines.identity.rules import load_rules
from pipelines.identity.stitch import TABLES, StitchResult, stitch
from pipelines.settings import Secret, Settings

pytestmark = pytest.mark.spark

NIGHTS = (datetime(2026, 3, 1), datetime(2026, 3, 2))


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pipelines.spark.identity import spark_session, stop_session

    session = spark_session("local[2]", "journey-identity-test")
    yield session
    stop_session(session)  # stitch_on_spark, as the asset, may have ended its JVM already


@pytest.fixture(scope="module")
def evidence() -> tuple[pl.DataFrame, pl.DataFrame]:
    """The first night's records (those first observed before the cut) and all records."""
    rows, _ = generate_evidence(250, seed=5)
    first = rows.group_by(RECORD).agg(pl.col("observed_at").min().alias("first"))
    cut = first["first"].sort()[int(first.height * 0.6)]
    early = first.filter(pl.col("first") < cut).select(RECORD)
    return rows.join(early, on=RECORD, how="semi"), rows


def _bridge(identity_map: pl.DataFrame) -> pl.DataFrame:
    """A record of the second night that joins two persons of the first (an order placed with
    a phone number and the e-mails of two persons who hold no account): a merge."""
    accounts = identity_map.filter(
        pl.col("identifier_kind").is_in(["shop_customer_id", "web_user_id"])
    ).select("person_id")
    emails = (
        identity_map.filter(pl.col("identifier_kind") == "email")
        .join(accounts, on="person_id", how="anti")
        .unique("person_id", keep="first")
        .sort("person_id")
    )
    left, right = emails["identifier_value"][:2]
    rows = [("phone", "+49 151 5550123", True), ("email", left, False), ("email", right, False)]
    return pl.DataFrame(
        [
            ("shopify", "orders", "bridge-1", datetime(2026, 2, 28), "order", kind, value, anchor)
            for kind, value, anchor in rows
        ],
        schema=list(EVIDENCE_SCHEMA),
        orient="row",
    ).cast({"observed_at": pl.Datetime("us")})


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


def _assert_equal(spark_result: StitchResult, expected: StitchResult) -> None:
    for name in TABLES:
        assert_frame_equal(
            _sorted(spark_result.tables[name]),
            _sorted(expected.tables[name]),
            check_dtypes=False,
        )
    wanted = {k: v for k, v in expected.metrics.items() if not k.startswith("seconds[")}
    got = {k: v for k, v in spark_result.metrics.items() if not k.startswith("seconds[")}
    assert got == wanted


def _both(spark: Any, evidence: pl.DataFrame, **options: Any) -> tuple[StitchResult, StitchResult]:
    from pipelines.spark.identity import polars_to_spark, stitch_spark

    previous = options.pop("previous_map", None)
    expected = stitch(evidence, previous_map=previous, **options)
    on_spark = stitch_spark(
        polars_to_spark(spark, evidence),
        previous_map=None if previous is None else polars_to_spark(spark, previous),
        buckets=3,
        **options,
    ).collect()
    return on_spark, expected


def test_two_nights_equal_the_one_machine_stitch(spark: Any, evidence: Any) -> None:
    early, everything = evidence
    rules = load_rules()
    first, expected_first = _both(spark, early, rules=rules, run_id="n1", run_at=NIGHTS[0])
    _assert_equal(first, expected_first)
    assert first.tables.height("identity_map") > 300
    assert first.tables.height("identity_rejected_edges") > 0

    erased = first.tables["identity_map"].filter(pl.col("identifier_kind") == "email").row(0)
    erasures = pl.DataFrame(
        {
            "identifier_kind": ["email"],
            "identifier_value": [erased[1]],
            "requested_at": [NIGHTS[1]],
        }
    )
    second, expected_second = _both(
        spark,
        pl.concat([everything, _bridge(first.tables["identity_map"])]),
        rules=rules,
        run_id="n2",
        run_at=NIGHTS[1],
        previous_map=expected_first.tables["identity_map"],
        erasures=erasures,
    )
    _assert_equal(second, expected_second)
    assert second.tables.height("identity_merges") > 0
    assert second.tables.height("identity_suppressed_records") > 0
    kept = first.tables["identity_map"].join(
        second.tables["identity_map"], on=["identifier_kind", "identifier_value", "person_id"]
    )
    assert kept.height > 200  # stable ids carried over


def test_a_spark_build_stitched_pseudonymised(spark: Any, evidence: Any, tmp_path: Path) -> None:
    """As the identity asset runs it with JOURNEY_ENGINE=spark (`stitch_on_spark`, last in the
    module: it stops the session): the evidence read from the Spark build's Parquet table
    (instants, as dbt-spark writes them), values and ids pseudonymised with the configured key,
    the tables written into the build as the one-machine stitch gives them, and no identity
    state (a state an earlier run left in the build is removed: the next night stitches in
    full rather than pairing a stale state with these tables)."""
    from pipelines.assets.identity import stitch_on_spark
    from pipelines.identity.nightly import STATE_FILES, STATE_META
    from pipelines.spark.tables import table_dir

    key = "kQ3v9ZtR1xWb7LpN5sHd2YcF8mJ0aUeG"
    settings = Settings.from_env(
        {
            "JOURNEY_DATA_DIR": str(tmp_path / "data"),
            "JOURNEY_WAREHOUSE_PATH": str(tmp_path / "warehouse" / "journey.duckdb"),
            "JOURNEY_ENGINE": "spark",
            "JOURNEY_PSEUDONYMIZE_KEY": key,
        }
    )
    early, _ = evidence
    instants = early.with_columns(pl.col("observed_at").dt.replace_time_zone("UTC"))
    spark.createDataFrame(instants.to_arrow()).write.parquet(
        str(table_dir(settings.spark_dir / "warehouse", "intermediate", "int_identity_evidence"))
    )
    settings.build_identity_dir.mkdir(parents=True)
    (settings.build_identity_dir / STATE_META).write_text("{}")  # left by an earlier run
    options: dict[str, Any] = {"rules": load_rules(), "run_id": "n1", "run_at": NIGHTS[0]}

    done = stitch_on_spark(settings, full_refresh=False, erasures=None, **options)

    expected = stitch(early, pseudonymize_key=Secret(key), **options)
    _assert_equal(done.result, expected)
    for name in TABLES:
        written = pl.read_parquet(done.paths[name])
        assert_frame_equal(_sorted(written), _sorted(expected.tables[name]), check_dtypes=False)
    assert not any((settings.build_identity_dir / f).exists() for f in (STATE_META, *STATE_FILES))
    assert done.night is None and done.metrics["identity_mode"] == "full"
    assert done.metrics["persons"] == expected.tables["identity_map"]["person_id"].n_unique()
    emails = pl.read_parquet(done.paths["identity_map"]).filter(
        pl.col("identifier_kind") == "email"
    )
    assert emails.height and not emails["identifier_value"].str.contains("@").any()
