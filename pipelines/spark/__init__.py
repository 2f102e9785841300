"""The Spark engine (issue 22, docs/scale-out.md), without Dagster: `tables` (dbt's environment
for a Spark build, and the Spark build's Parquet tables read back and copied into the build's
DuckDB file), `components` (connected components as DataFrame operations, large-star /
small-star), `identity` (the identity step on Spark: candidate components, then the one-machine
stitch on each group of them), `night` (whether a Spark night's dbt invocation must rebuild every
table, after a night that did not finish)."""
