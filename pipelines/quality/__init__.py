"""Data-quality gates, free of Dagster: the Great Expectations suites in `expectations/` run
on pandas frames built from landing and from the build warehouse.

* `suites`     — read and check the suite files (no GX import); `list_checks()` catalogue.
* `frames`     — the frames under test (DuckDB → pandas).
* `row_counts` — previous-run row counts (state file) and the bounds they give.
* `runner`     — GX 1.x in process: validate, summarise each expectation as a `CheckOutcome`
  (failed rows, sample, observed, bound, message); `run_suites` ties it all together.
* `docs`       — the offline Data Docs site `{JOURNEY_DOCS_DIR}/gx/`.

The Dagster asset checks are a thin wrapper in `pipelines/assets/quality.py`.
"""
