"""Connected components: scipy on one machine (`pipelines.identity.graph.component_labels`, the
stitcher's step) vs Spark DataFrames (`pipelines.spark.components`, large-star / small-star) on
the same random graph; wall seconds of each (Spark: without its session start, which is printed
apart), the rounds' result checked equal, and the load average (the machine is shared).

    python -m bench.spark_components_bench --edges 100000 1000000 [--master local[2]]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import polars as pl


def _graph(edges: int, seed: int = 7) -> tuple[int, np.ndarray, np.ndarray]:
    """A sparse random graph with about as many nodes as edges (many small components, as
    an identity graph has)."""
    rng = np.random.default_rng(seed)
    nodes = edges
    return nodes, rng.integers(0, nodes, edges), rng.integers(0, nodes, edges)


def _smallest(labels: np.ndarray) -> np.ndarray:
    frame = pl.DataFrame({"node": np.arange(len(labels)), "label": labels})
    smallest = frame.group_by("label").agg(pl.col("node").min().alias("component"))
    return frame.join(smallest, on="label").sort("node")["component"].to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()

    from pyspark.sql import SparkSession

    from pipelines.identity.graph import component_labels as scipy_labels
    from pipelines.spark.components import component_labels as spark_labels

    started = time.perf_counter()
    spark = (
        SparkSession.builder.master(args.master)
        .appName("journey-components-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    print(f"spark session ({args.master}): {time.perf_counter() - started:.1f} s")
    for size in args.edges:
        nodes, left, right = _graph(size)
        started = time.perf_counter()
        expected = _smallest(scipy_labels(nodes, left, right))
        scipy_seconds = time.perf_counter() - started
        node_frame = spark.createDataFrame(pl.DataFrame({"node": np.arange(nodes)}).to_pandas())
        edge_frame = spark.createDataFrame(pl.DataFrame({"left": left, "right": right}).to_pandas())
        started = time.perf_counter()
        result = spark_labels(node_frame, edge_frame).orderBy("node").toPandas()
        spark_seconds = time.perf_counter() - started
        equal = bool((result["component"].to_numpy() == expected).all())
        load = " ".join(f"{value:.1f}" for value in os.getloadavg())
        print(
            f"{size:>10,} edges {nodes:>10,} nodes: scipy {scipy_seconds:7.2f} s, "
            f"spark {spark_seconds:7.1f} s, equal {equal}, load average {load}"
        )
    spark.stop()


if __name__ == "__main__":
    main()
