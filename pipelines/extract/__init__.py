"""Extraction: vendor APIs and file drops → append-only landing Parquet (docs/contracts.md §1–4).

Modules (none imports Dagster; the assets are thin wrappers around `runner`):

* `registry` — reads the stream registry, `config/streams/<source>.yml` (docs/streams.md);
  `derive` writes what is derived from it (`python -m pipelines.extract.derive`).
* `streams` — each declared stream as the contract extraction applies: key, version field,
  required/known fields, checks.
* `landing` — columnar contract validation, quarantine, atomic Parquet writers, readers;
  `values` — the values of a right JSON type that still cannot land (quarantined);
  `duck` — a DuckDB connection per thread for the JSON work;
  `compaction` — a record pulled again replaces its earlier landed rows (Mailchimp reports).
* `http` — the one HTTP client (timeouts, retries with jitter, Retry-After, call limits, auth).
* `matomo`, `mailchimp`, `shopify`, `zendesk` — one connector per vendor; `filedrop` — CSV/NDJSON.
* `cursors` — per-stream cursors under `{data_dir}/state/cursors/`.
* `runner` — `plan_window`, `extract_source`, `StreamResult`: the API the assets call.
* `connections` — `python -m pipelines check-connections`: one cheap request per vendor.
* `errors` — the extraction errors: what failed, where, what to do; never a credential.
"""
