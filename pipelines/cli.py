"""Command line: `python -m pipelines <command>` (see `--help`).

run        run the nightly job for one date or a date range, against whatever the
           MATOMO_* / MAILCHIMP_* / SHOPIFY_* / ZENDESK_* / JOURNEY_DROP_DIR variables point to
summary    print the summary of the published warehouse
rollback   make the previous published warehouse live again
dev        the Dagster UI, daemon and code server (`make dev`), stopped within seconds
check-connections
           one cheap authenticated request per configured vendor: ok, or the exact problem
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from pipelines.console import Console, active_console, current_console, format_seconds
from pipelines.settings import PROJECT_ROOT, Settings
from pipelines.warehouse.build import BuildLock

TELEMETRY_OFF = {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "GX_ANALYTICS_ENABLED": "false",
}


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    report_path: Path

    @property
    def report(self) -> dict:
        return json.loads(self.report_path.read_text())


def _prepare_process_environment() -> None:
    for name, value in TELEMETRY_OFF.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "dagster_home"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def command_console() -> Iterator[Console]:
    """The console of the command running now (the demo's), or a new one for this command."""
    existing = current_console()
    if existing is not None:
        yield existing
        return
    with active_console(Console()) as console:
        yield console


def run_nightly(
    first_day: date, last_day: date, *, full_refresh: bool = False, log_level: str = "INFO"
) -> RunOutcome:
    """Execute the nightly job in this process for [first_day, last_day] and write its report.

    The run is recorded in the Dagster instance at DAGSTER_HOME, so it shows in the UI. Its
    progress goes to the terminal as it happens (standard error; `pipelines.console`).
    """
    if last_day < first_day:
        raise SystemExit(f"--end {last_day} is before --start {first_day}")
    _prepare_process_environment()
    with command_console() as console:
        console.line("loading the pipeline (Dagster definitions, dbt manifest, quality suites)")
        console.activity("loading the pipeline definitions")
        import dagster as dg

        from pipelines.assets.common import FULL_REFRESH_TAG
        from pipelines.console_logger import console_logger
        from pipelines.definitions import build_definitions
        from pipelines.jobs import NIGHTLY_JOB
        from pipelines.run_report import report_of_run, write_run_report

        settings = Settings.from_env()
        defs = build_definitions(settings)
        instance = dg.DagsterInstance.get()
        job = defs.resolve_job_def(NIGHTLY_JOB).with_logger_defs(
            {"console": console_logger(instance)}
        )
        tags = {FULL_REFRESH_TAG: "true" if full_refresh else "false"}
        partition_key = None
        if first_day == last_day:
            partition_key = first_day.isoformat()
        else:
            tags["dagster/asset_partition_range_start"] = first_day.isoformat()
            tags["dagster/asset_partition_range_end"] = last_day.isoformat()
        days = str(first_day) if first_day == last_day else f"{first_day} .. {last_day}"
        console.line(
            f"running the nightly job for {days}"
            + (" as a full refresh" if full_refresh else "")
            + f" (Dagster instance {os.environ['DAGSTER_HOME']})"
        )
        graph = defs.resolve_asset_graph()
        planned = len(graph.get_all_asset_keys()) + len(graph.asset_check_keys)
        # Dagster writes one "planned" event per asset and check before the first step starts
        # (a SQLite commit each: seconds to a minute on a slow disk)
        console.activity(
            f"starting the run (Dagster records the {planned} assets and checks it plans)"
        )
        # dbt's own console output (a line per model and test) goes to a file beside the run
        # report; the terminal keeps the run's progress lines (standard error).
        settings.report_dir.mkdir(parents=True, exist_ok=True)
        dbt_output = settings.report_dir / f".dbt-output-{os.getpid()}.log"
        with dbt_output.open("w") as sink, contextlib.redirect_stdout(sink):
            result = job.execute_in_process(
                instance=instance,
                partition_key=partition_key,
                tags=tags,
                run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
                raise_on_error=False,
            )
        BuildLock(settings.build_dir / ".lock", result.run_id).release()  # no-op after a publish
        report = report_of_run(instance, result.run_id) or write_run_report(
            instance, result.run_id, settings
        )
        dbt_output.replace(report.with_suffix(".dbt.log"))
    return RunOutcome(run_id=result.run_id, success=result.success, report_path=report)


def warehouse_summary(warehouse: Path) -> str:
    """Rows per mart, persons, the phase funnel and the warehouse path."""
    import duckdb

    if not warehouse.exists():
        return f"no published warehouse at {warehouse}"
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'identity') order by 1, 2"
        ).fetchall()
        lines = [f"Warehouse: {warehouse}", "", "Rows per table:"]
        for schema, table in tables:
            rows = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            lines.append(f"  {schema + '.' + table:<42} {rows:>10,}")
        names = {table for _, table in tables}
        if "dim_persons" in names:
            persons = con.execute("select count(*) from marts.dim_persons").fetchone()[0]
            lines += ["", f"Persons: {persons:,}"]
        if "fct_journey_phases" in names:
            funnel = con.execute(
                """
                with reached as (
                    select person_id, max(phase_rank) as top_rank
                    from marts.fct_journey_phases group by person_id
                ),
                phases as (select distinct phase, phase_rank from marts.fct_journey_phases)
                select phases.phase, phases.phase_rank, count(reached.person_id)
                from phases left join reached on reached.top_rank >= phases.phase_rank
                group by 1, 2 order by 2
                """
            ).fetchall()
            lines += ["", "Phase funnel (persons who reached the phase or a later one):"]
            top = max((count for _, _, count in funnel), default=0) or 1
            for phase, _, count in funnel:
                bar = "#" * max(1, round(40 * count / top))
                lines.append(f"  {phase:<15} {count:>9,}  {bar}")
        return "\n".join(lines)
    finally:
        con.close()


def _parse_day(text: str) -> date:
    return date.fromisoformat(text)


def _cmd_run(args: argparse.Namespace) -> int:
    if args.date and (args.start or args.end):
        raise SystemExit("give either --date or --start/--end")
    if args.date:
        first = last = args.date
    elif args.start or args.end:
        if not (args.start and args.end):
            raise SystemExit("--start and --end go together")
        first, last = args.start, args.end
    else:
        first = last = date.today() - timedelta(days=1)
    outcome = run_nightly(first, last, full_refresh=args.full_refresh)
    report = outcome.report
    print(outcome.report_path.with_suffix(".md").read_text())
    print(
        f"run {outcome.run_id}: {'succeeded' if outcome.success else 'FAILED'} "
        f"in {format_seconds(report['seconds'])}; report: {outcome.report_path.with_suffix('.md')}",
        flush=True,
    )
    return 0 if outcome.success else 1


def _cmd_summary(args: argparse.Namespace) -> int:
    print(warehouse_summary(Settings.from_env().warehouse_path))
    return 0


def _cmd_query(args: argparse.Namespace) -> int:
    import duckdb

    path = Settings.from_env().warehouse_path
    if not path.exists():
        raise SystemExit(
            f"no published warehouse at {path}; run `make demo` or `python -m pipelines run`"
        )
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.sql(args.sql).show(max_rows=args.max_rows, max_width=200)
    finally:
        con.close()
    return 0


def _cmd_rollback(args: argparse.Namespace) -> int:
    from pipelines.warehouse.publish import rollback

    path = rollback(Settings.from_env())
    print(f"rolled back: {path} is the previous published warehouse again")
    return 0


def _cmd_check_connections(args: argparse.Namespace) -> int:
    from pipelines.extract.connections import check_connections, exit_code, render

    results = check_connections()
    print(render(results))
    return exit_code(results)


def _cmd_dev(args: argparse.Namespace) -> int:
    from pipelines.dev import run_dev

    _prepare_process_environment()
    return run_dev(args.host, args.port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the nightly job for a date or a date range")
    run.add_argument("--date", type=_parse_day, help="one data day (default: yesterday)")
    run.add_argument("--start", type=_parse_day, help="first data day of a backfill")
    run.add_argument("--end", type=_parse_day, help="last data day of a backfill")
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="re-extract from JOURNEY_PARTITIONS_START and rebuild every model",
    )
    run.set_defaults(func=_cmd_run)

    summary = commands.add_parser("summary", help="print the published warehouse's summary")
    summary.set_defaults(func=_cmd_summary)

    query = commands.add_parser("query", help="run SQL on the published warehouse (read-only)")
    query.add_argument("sql")
    query.add_argument("--max-rows", type=int, default=40)
    query.set_defaults(func=_cmd_query)

    back = commands.add_parser("rollback", help="make the previous published warehouse live")
    back.set_defaults(func=_cmd_rollback)

    check = commands.add_parser(
        "check-connections",
        help="test each configured vendor with one cheap authenticated request",
        description="Exit status 1 if a configured source fails (or none is configured).",
    )
    check.set_defaults(func=_cmd_check_connections)

    dev = commands.add_parser("dev", help="the Dagster UI and daemon (what `make dev` runs)")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(func=_cmd_dev)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
