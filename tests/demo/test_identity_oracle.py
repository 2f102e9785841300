"""Identity is achievable: the oracle clustering of tests/demo/oracle.py (evidence of contracts §5.2
read back from the records, traps blocked) reaches the truth at the default size, and the only
links between different true persons are the documented traps."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.demo.helpers import truth
from tests.demo.oracle import GENERIC_LOCAL_PARTS, evidence, node, oracle_scores

# One worker builds the shared default-size dataset once (`pytest -n 2 --dist loadgroup`).
pytestmark = pytest.mark.xdist_group("demo-dataset")


def test_oracle_reaches_the_truth(dataset: Path) -> None:
    precision, recall = oracle_scores(dataset)
    print(f"oracle pairwise precision {precision:.4f}, recall {recall:.4f}")
    assert precision >= 0.999
    assert recall >= 0.99


def test_cross_person_links_are_only_the_documented_traps(dataset: Path) -> None:
    owners = (
        truth(dataset, "identities")
        .select("person_key", node=node(pl.col("identifier_kind"), pl.col("identifier_value")))
        .unique("node")
    )
    ev = (
        evidence(dataset)
        .with_columns(node=node(pl.col("kind"), pl.col("value")))
        .join(owners, on="node")
    )
    per_record = ev.group_by("source", "stream", "record_id").agg(
        persons=pl.col("person_key").n_unique(), kinds=pl.col("kind"), nodes=pl.col("node")
    )
    mixed = per_record.filter(pl.col("persons") > 1)
    generic = (
        pl.col("nodes")
        .list.eval(pl.element().str.extract(r"^email:([^@]+)@").is_in(GENERIC_LOCAL_PARTS))
        .list.any()
    )
    shared_device = (pl.col("source") == "matomo") & pl.col("kinds").list.contains("account")
    assert mixed.filter(generic).height >= 2
    assert mixed.filter(~generic & shared_device).height >= 2
    unexplained = mixed.filter(~generic & ~shared_device)
    assert unexplained.height == 0, unexplained.head()
