"""The development kit: everything that exists to demonstrate and test the pipeline.

* `devkit.demo` — the seeded demo data generator and its ground truth;
* `devkit.sandbox` — a loopback HTTP server speaking the four vendors' API shapes;
* `devkit.vendor_dataset` — land a generated dataset without HTTP (tests, benchmarks);
* `devkit.identity` — synthetic identity evidence and precision/recall against ground truth;
* `devkit.demo_run` — `python -m devkit demo`, the README's demo (data → sandbox → nightly job).
* `devkit.postgres_server` — a throwaway PostgreSQL server on 127.0.0.1 for tests and benchmarks.

It may import `pipelines` (the product); `pipelines` never imports `devkit`
(tests/test_layout.py checks both directions).
"""
