"""The README's demo: sample data → sandbox vendor APIs → the real nightly job → a summary.

Nothing here is a shortcut around the pipeline: the connectors pull the generated data over
HTTP from the sandbox server, exactly as they would pull from Matomo, Mailchimp, Shopify and
Zendesk; only the base URLs and credentials differ.

Everything is said as it happens (`pipelines.console`: a line per step, stream, dbt node and
check suite, a heartbeat when a step is quiet), and the demo ends with where the warehouse,
the run report and the docs are, and the commands to try next.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from datetime import date
from pathlib import Path

from pipelines.cli import RunOutcome, run_nightly, warehouse_summary
from pipelines.console import Console, active_console, format_seconds
from pipelines.settings import PROJECT_ROOT, Settings, temporary_environment


def _dataset(out: Path, persons: int, seed: int, console: Console) -> dict:
    from devkit.demo.generator import generate

    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("persons") == persons and manifest.get("seed") == seed:
            console.line(
                f"using the demo dataset in {_shown(out)} ({persons:,} persons, seed {seed})"
            )
            return manifest
    console.line(f"generating a demo dataset of {persons:,} persons (seed {seed}) in {_shown(out)}")
    console.activity("generating the demo dataset")
    started = time.monotonic()
    manifest = generate(out, persons=persons, seed=seed)
    console.activity(None)
    console.line(f"dataset generated in {format_seconds(time.monotonic() - started)}")
    return manifest


def run_demo(*, persons: int, seed: int, out: Path) -> int:
    from devkit.sandbox import SandboxServer

    out = out.resolve()
    with active_console(Console()) as console:
        console.line("Journey Warehouse demo: sample data served as the four vendor APIs")
        manifest = _dataset(out, persons, seed, console)
        period = manifest["period"]
        first, last = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
        console.activity("starting the sandbox vendor APIs")
        with (
            SandboxServer(out) as sandbox,
            temporary_environment({**sandbox.env(), "JOURNEY_DROP_DIR": str(out / "drop")}),
        ):
            console.line(f"sandbox vendor APIs serving on {sandbox.url}")
            # One run: the night after the last demo day, as a full refresh (its extraction
            # window starts at JOURNEY_PARTITIONS_START, so it covers the whole demo period).
            console.line(f"the nightly job for {last}, as a full refresh (data since {first})")
            outcome = run_nightly(last, last, full_refresh=True)
        console.line("")
    return _finish(outcome)


def _finish(outcome: RunOutcome) -> int:
    """The summary, where everything is, and the commands to try next (standard output)."""
    report = outcome.report
    took = format_seconds(report["seconds"])
    markdown = outcome.report_path.with_suffix(".md")
    if not outcome.success:
        print(markdown.read_text())
        print(f"The nightly job FAILED after {took} (run {outcome.run_id}).")
        print(f"The run report above is also in {_shown(markdown)}.", flush=True)
        return 1
    settings = Settings.from_env()
    print(warehouse_summary(settings.warehouse_path))
    screenshot = _journey_report_screenshot(settings)
    print(f"\nThe nightly job published the warehouse in {took} (run {outcome.run_id}).\n")
    print(where_things_are(settings, markdown, screenshot))
    print(next_commands(settings), flush=True)
    return 0


def _journey_report_screenshot(settings: Settings) -> Path | str:
    """A screenshot of the journey report the run wrote, next to the warehouse (the path), or
    why there is none."""
    from pipelines.report.build import REPORT_FILE
    from pipelines.report.image import write_png

    report = settings.report_dir / REPORT_FILE
    if not report.exists():
        return f"none: the run wrote no journey report at {report}"
    shot = write_png(report, settings.warehouse_path.with_name("journey_report.png"), selector=None)
    return shot.path or f"none: {shot.reason}"


def where_things_are(settings: Settings, report: Path, screenshot: Path | str) -> str:
    from pipelines.report.build import REPORT_FILE

    places = [
        ("warehouse", settings.warehouse_path),
        ("Parquet exports", settings.export_dir / "current"),
        ("run report", report),
        ("journey report", settings.report_dir / REPORT_FILE),
        ("its screenshot", screenshot),
        ("dbt docs", settings.docs_dir / "dbt" / "index.html"),
        ("data quality docs", settings.docs_dir / "gx" / "index.html"),
    ]
    width = max(len(label) for label, _ in places)
    lines = ["Where things are:"]
    lines += [
        f"  {label:<{width}}  {_shown(path) if isinstance(path, Path) else path}"
        for label, path in places
    ]
    return "\n".join(lines) + "\n"


def next_commands(settings: Settings) -> str:
    python = ".venv/bin/python" if Path.cwd() == PROJECT_ROOT else sys.executable
    lines = ["Try next:"]
    lines.append(
        f"  {python} -m pipelines query "
        + shlex.quote(
            "select phase, count(*) as persons from marts.fct_journey_phases "
            "group by phase order by persons desc"
        )
    )
    # with pseudonymisation on, the published identifiers are keyed hashes: nothing to type
    pair = None if settings.pseudonymize_key else _linked_pair(settings.warehouse_path)
    if pair:
        lines.append(
            f"  {python} -m pipelines.identity explain --warehouse "
            f"{_shown(settings.warehouse_path)} {shlex.quote(pair[0])} {shlex.quote(pair[1])}"
        )
    lines.append("  make dev    # the Dagster UI: runs, assets, checks, the nightly schedule")
    lines.append("  docs/getting-started.md    # from the demo to your own vendor accounts")
    return "\n".join(lines) + "\n"


def _linked_pair(warehouse: Path) -> tuple[str, str] | None:
    """An email and a web visitor id the warehouse says are one person (for `explain`)."""
    import duckdb

    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:
        return None
    try:
        row = con.execute(
            """
            select 'email:' || email.identifier_value, 'web_visitor_id:' || web.identifier_value
            from identity.identity_map as email
            join identity.identity_map as web using (person_id)
            where email.identifier_kind = 'email' and web.identifier_kind = 'web_visitor_id'
            order by email.identifier_value, web.identifier_value
            limit 1
            """
        ).fetchone()
    except duckdb.Error:
        return None
    finally:
        con.close()
    return (row[0], row[1]) if row else None


def _shown(path: Path) -> str:
    """A path relative to the working directory when it lies below it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path(os.getcwd()).resolve()))
    except ValueError:
        return str(path)
