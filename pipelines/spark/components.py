"""Connected components of an identity graph as Spark DataFrame operations (issue 22), for
graphs that do not fit one machine; the one-machine step is `pipelines.identity.graph.
component_labels` (scipy). GraphFrames is not usable offline (its JVM jar is not in the wheel),
so this is the alternating large-star / small-star algorithm (Kiveris et al., "Connected
Components in MapReduce and Beyond", 2014) on plain DataFrames: every round is a group-by and a
join, the lineage cut by a local checkpoint each round; it converges in O(log n) rounds.

Nodes are integers (`node`); a component is labelled by its smallest node, so two engines (or
two runs) label the same components alike.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

MAX_ROUNDS = 64
"""A graph of n nodes converges in O(log n) rounds; more means a defect, not a big graph."""


def _undirected(edges: DataFrame) -> DataFrame:
    """Every edge both ways, without self-loops or repeats (columns u, v)."""
    forward = edges.select(F.col("u"), F.col("v"))
    both = forward.unionByName(forward.select(F.col("v").alias("u"), F.col("u").alias("v")))
    return both.where(F.col("u") != F.col("v")).distinct()


def _large_star(edges: DataFrame) -> DataFrame:
    """Each node's larger neighbours are attached to the smallest of its neighbourhood (itself
    included). Returns edges (u, v) with u > v."""
    both = _undirected(edges)
    smallest = both.groupBy("u").agg(F.least(F.min("v"), F.col("u")).alias("m"))
    return (
        both.where(F.col("v") > F.col("u"))
        .join(smallest, on="u")
        .select(F.col("v").alias("u"), F.col("m").alias("v"))
        .distinct()
    )


def _small_star(edges: DataFrame) -> DataFrame:
    """Each node and its smaller neighbours are attached to the smallest of them. Takes and
    returns edges (u, v) with u > v."""
    smallest = edges.groupBy("u").agg(F.min("v").alias("m"))
    attached = edges.join(smallest, on="u")
    neighbours = attached.select(F.col("v").alias("u"), F.col("m").alias("v"))
    selves = smallest.select(F.col("u"), F.col("m").alias("v"))
    return neighbours.unionByName(selves).where(F.col("u") != F.col("v")).distinct()


def component_labels(nodes: DataFrame, edges: DataFrame) -> DataFrame:
    """Per node of `nodes` (column `node`) its component: the smallest node joined to it by
    `edges` (columns `left`, `right`; undirected; self-loops and repeats allowed). Columns
    `node`, `component`; an isolated node is its own component."""
    current = (
        edges.select(
            F.greatest("left", "right").cast("long").alias("u"),
            F.least("left", "right").cast("long").alias("v"),
        )
        .where(F.col("u") != F.col("v"))
        .distinct()
        .localCheckpoint()
    )
    for _ in range(MAX_ROUNDS):
        following = _small_star(_large_star(current)).localCheckpoint()
        changed = (
            following.exceptAll(current).limit(1).count()
            + current.exceptAll(following).limit(1).count()
        )
        current = following
        if changed == 0:
            break
    else:
        raise RuntimeError(f"connected components did not converge in {MAX_ROUNDS} rounds")
    # converged: a star per component, every edge (node, smallest node of its component)
    return (
        nodes.select(F.col("node").cast("long").alias("node"))
        .distinct()
        .join(current.withColumnRenamed("u", "node"), on="node", how="left")
        .select("node", F.coalesce(F.col("v"), F.col("node")).alias("component"))
    )
