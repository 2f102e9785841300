"""The Dagster assets and asset checks: thin wrappers, one module per layer.

`extraction` (one multi-asset per source, keys matching the dbt sources), `warehouse` (the dbt
project through dagster-dbt), `identity` (the stitching step between the two dbt invocations),
`quality` and `gate` (Great Expectations checks and the blocking gate), `publish` and `report`;
`common` holds what they share (run tags, the run's range of data days).
Each calls a pure module of `pipelines/` (extract, identity, warehouse, quality, report) and
adds only Dagster wiring; `pipelines/definitions.py` imports them all explicitly. Nothing in
`pipelines/` outside `assets/`, `definitions.py`, `jobs.py`, `hooks.py` and `resources.py`
may import from here.
"""
