"""Data-quality gates, free of Dagster: the Great Expectations suites in `expectations/` run
on pandas frames of what a run landed, and on the build warehouse's marts through DuckDB
(`pushdown`), and the quarantine gate.

* `suites`     — read and check the suite files (no GX import); `list_checks()` catalogue.
* `frames`     — the frames under test (DuckDB → pandas).
* `row_counts` — previous-run row counts (state file) and the bounds they give.
* `runner`     — GX 1.x in process: validate, summarise each expectation as a `CheckOutcome`
  (failed rows, sample, observed, bound, message); `run_suites` ties it all together.
* `pushdown`   — mart suites counted in DuckDB; GX validates only the offending rows.
* `gx_loader`  — GX imported in the background from the first extraction step, without PySpark.
* `gate`       — the quarantine gate: per stream and night, the quarantined share and vanished streams.
* `dbt_test_descriptions` — what each dbt test checks and what to do when it fails.
* `docs`       — the offline Data Docs site `{JOURNEY_DOCS_DIR}/gx/`; `docs_view` renders its
  pages with GX's own templating, offline.

The Dagster asset checks are a thin wrapper in `pipelines/assets/quality.py`.
"""
