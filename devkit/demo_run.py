"""The README's demo: sample data → sandbox vendor APIs → the real nightly job → a summary.

Nothing here is a shortcut around the pipeline: the connectors pull the generated data over
HTTP from the sandbox server, exactly as they would pull from Matomo, Mailchimp, Shopify and
Zendesk; only the base URLs and credentials differ.
"""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

from pipelines.cli import run_nightly, warehouse_summary
from pipelines.settings import Settings, temporary_environment


def _dataset(out: Path, persons: int, seed: int) -> dict:
    from devkit.demo.generator import generate

    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("persons") == persons and manifest.get("seed") == seed:
            print(f"Using the demo dataset in {out} ({persons:,} persons, seed {seed})")
            return manifest
    print(f"Generating a demo dataset of {persons:,} persons (seed {seed}) in {out} ...")
    started = time.monotonic()
    manifest = generate(out, persons=persons, seed=seed)
    print(f"  done in {time.monotonic() - started:.1f} s")
    return manifest


def run_demo(*, persons: int, seed: int, out: Path) -> int:
    from devkit.sandbox import SandboxServer

    out = out.resolve()
    manifest = _dataset(out, persons, seed)
    period = manifest["period"]
    first, last = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
    with (
        SandboxServer(out) as sandbox,
        temporary_environment({**sandbox.env(), "JOURNEY_DROP_DIR": str(out / "drop")}),
    ):
        print(f"Sandbox vendor APIs serving on {sandbox.url}")
        # One run: the night after the last demo day, as a full refresh (its extraction
        # window starts at JOURNEY_PARTITIONS_START, so it covers the whole demo period).
        print(f"Running the nightly job for {last} as a full refresh (data since {first}) ...")
        started = time.monotonic()
        outcome = run_nightly(last, last, full_refresh=True)
        seconds = time.monotonic() - started
    status = "succeeded" if outcome.success else "FAILED"
    print(f"\nNightly job {status} in {seconds:.0f} s (run {outcome.run_id})")
    print(f"Run report: {outcome.report_path.with_suffix('.md')}\n")
    if not outcome.success:
        print(outcome.report_path.with_suffix(".md").read_text())
        return 1
    settings = Settings.from_env()
    print(warehouse_summary(settings.warehouse_path))
    return _journey_report(settings)


def _journey_report(settings: Settings) -> int:
    """The journey report the run wrote, and a screenshot of it next to the warehouse."""
    from pipelines.report.build import REPORT_FILE
    from pipelines.report.image import write_png

    report = settings.report_dir / REPORT_FILE
    if not report.exists():
        print(f"\nNo journey report at {report}: the run did not write one")
        return 1
    shot = write_png(report, settings.warehouse_path.with_name("journey_report.png"), selector=None)
    print(f"\nScreenshot of the report: {shot.path or shot.reason}")
    print(f"Journey report (open it in a browser): {report}")
    return 0
