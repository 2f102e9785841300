"""Connected components on Spark DataFrames (pipelines/spark/components.py) label the same
components as the one-machine step (pipelines.identity.graph.component_labels, scipy) — issue 22.
Marked `spark` (deselect locally with -m "not spark")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import polars as pl
import pytest

from pipelines.identity.graph import component_labels as scipy_labels

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("journey-components-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    yield session
    session.stop()


def _by_smallest_node(labels: np.ndarray) -> list[int]:
    """scipy's arbitrary labels renamed to each component's smallest node."""
    frame = pl.DataFrame({"node": np.arange(len(labels)), "label": labels})
    smallest = frame.group_by("label").agg(pl.col("node").min().alias("component"))
    return frame.join(smallest, on="label").sort("node")["component"].to_list()


def _spark_labels(spark: Any, node_count: int, left: np.ndarray, right: np.ndarray) -> list[int]:
    from pipelines.spark.components import component_labels

    nodes = spark.createDataFrame([(int(n),) for n in range(node_count)], "node long")
    edges = spark.createDataFrame(
        [(int(a), int(b)) for a, b in zip(left, right, strict=True)], "left long, right long"
    )
    result = component_labels(nodes, edges).orderBy("node").collect()
    assert [row["node"] for row in result] == list(range(node_count))
    return [row["component"] for row in result]


GRAPHS = {
    # a long path in shuffled node order: the most rounds
    "path": (
        300,
        np.random.default_rng(1).permutation(300)[:-1],
        np.random.default_rng(1).permutation(300)[1:],
    ),
    # a sparse random graph: many small components, isolated nodes, repeats and self-loops
    "random": (
        2000,
        np.random.default_rng(2).integers(0, 2000, 1200),
        np.random.default_rng(3).integers(0, 2000, 1200),
    ),
}


@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_spark_components_equal_scipy(spark: Any, graph: str) -> None:
    node_count, left, right = GRAPHS[graph]
    expected = _by_smallest_node(scipy_labels(node_count, left, right))
    assert len(set(expected)) > (1 if graph == "path" else 500) - 1
    assert _spark_labels(spark, node_count, left, right) == expected
