"""Command line: `python -m pipelines <command>` (see `--help`).

run        run the nightly job for one date or a date range, against whatever the
           MATOMO_* / MAILCHIMP_* / SHOPIFY_* / ZENDESK_* / JOURNEY_DROP_DIR variables point to
summary    print the summary of the published warehouse
query      run SQL on the published warehouse (read-only)
metrics    query the semantic layer's metrics with MetricFlow's `mf`
report     write the journey report (HTML + PNG of the map), or one person's journey
rollback   make the previous published warehouse live again
rotate-key allow the next runs to change the pseudonymisation key (JOURNEY_PSEUDONYMIZE_KEY)
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
from datetime import date
from pathlib import Path
from typing import Any

from pipelines.console import Console, active_console, current_console, format_seconds
from pipelines.errors import JourneyError
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
        raise JourneyError(f"--end {last_day} is before --start {first_day}")
    _prepare_process_environment()
    with command_console() as console:
        console.line("loading the pipeline (Dagster definitions, dbt manifest, quality suites)")
        console.activity("loading the pipeline definitions")
        settings = Settings.from_env()
        _refuse_a_changed_key(settings)

        import dagster as dg

        from pipelines.assets.common import day_range_tags
        from pipelines.console_logger import console_logger
        from pipelines.definitions import build_definitions
        from pipelines.jobs import NIGHTLY_JOB
        from pipelines.run_monitor import fail_dead_runs, process_tags
        from pipelines.run_report import report_of_run, write_run_report

        defs = build_definitions(settings)
        instance = dg.DagsterInstance.get()
        job = defs.resolve_job_def(NIGHTLY_JOB).with_logger_defs(
            {"console": console_logger(instance)}
        )
        # One run over the whole range, whatever its length (DECISIONS.md "a run is one window")
        tags = day_range_tags(first_day, last_day, full_refresh=full_refresh)
        # a run whose process was killed would stay STARTED and hold the one-run-at-a-time queue
        for run_id in fail_dead_runs(instance):
            console.line(f"run {run_id}: its process is gone; marked failed")
        tags.update(process_tags())  # so a later run can tell whether this one's process died
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


def _refuse_a_changed_key(settings: Settings) -> None:
    """Stop before anything runs when the key differs from the published one (the identity
    step would refuse it anyway, after the extraction)."""
    from pipelines.privacy.keys import KeyChangedError, published_key, verify_key

    try:
        verify_key(published_key(settings), settings.pseudonymize_key, settings.state_dir)
    except KeyChangedError as error:
        raise SystemExit(str(error)) from None


def rotate_key(settings: Settings) -> str:
    """Record that the next runs may replace the published pseudonymisation key by the one in
    JOURNEY_PSEUDONYMIZE_KEY (or stop pseudonymising when it is unset); returns what happens."""
    from pipelines.privacy.keys import (
        describe,
        key_fingerprint,
        published_key,
        request_rotation,
    )

    published = published_key(settings)
    current = key_fingerprint(settings.pseudonymize_key)
    if not published.found:
        return (
            "nothing to rotate: no published warehouse records a key yet; the next run records "
            f"the fingerprint of JOURNEY_PSEUDONYMIZE_KEY ({describe(current)})"
        )
    if published.fingerprint == current:
        return f"nothing to rotate: JOURNEY_PSEUDONYMIZE_KEY is the published key ({describe(current)})"
    request_rotation(settings.state_dir, published, settings.pseudonymize_key)
    change = (
        "pseudonymisation stops: the next run publishes plain normalised e-mails and phones"
        if current is None
        else "the next run re-keys every pseudonymised identifier value"
    )
    return (
        f"key rotation recorded ({describe(published.fingerprint)} -> {describe(current)}): "
        f"{change}; person ids derived from them change except where a person keeps an "
        "identifier of another kind. Run the next night with this JOURNEY_PSEUDONYMIZE_KEY "
        "(restart `make dev` so the schedule sees it); docs/operations.md, 'Key rotation'"
    )


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
            rows = _count(con, f'select count(*) from "{schema}"."{table}"')
            lines.append(f"  {schema + '.' + table:<42} {rows:>10,}")
        names = {table for _, table in tables}
        if "dim_persons" in names:
            persons = _count(con, "select count(*) from marts.dim_persons")
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


def _count(con: Any, sql: str) -> int:
    """The one number a `count(*)` query returns."""
    [(count,)] = con.execute(sql).fetchall()
    return int(count)


def _parse_day(text: str) -> date:
    return date.fromisoformat(text)


def _cmd_run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()  # a bad setting fails here, in one line, before anything loads
    if args.date and (args.start or args.end):
        raise JourneyError("give either --date or --start/--end")
    if args.date:
        first = last = args.date
    elif args.start or args.end:
        if not (args.start and args.end):
            raise JourneyError("--start and --end go together")
        first, last = args.start, args.end
    else:
        first = last = settings.yesterday()  # the schedule's time zone, like the nightly run
    outcome = run_nightly(first, last, full_refresh=args.full_refresh)
    report = outcome.report
    print(outcome.report_path.with_suffix(".md").read_text())
    verdict = run_verdict(outcome.success, report["published"])
    print(
        f"run {outcome.run_id}: {verdict} in {format_seconds(report['seconds'])}; "
        f"report: {outcome.report_path.with_suffix('.md')}",
        flush=True,
    )
    return 0 if verdict == "succeeded" else 1


def run_verdict(success: bool, published: bool) -> str:
    """A nightly run succeeded only if it published: a run Dagster calls successful that
    published nothing (steps skipped, e.g. a dbt step whose events were lost) is a failure to
    the schedule and to whoever runs it by hand (exit code 1), never a quiet exit 0."""
    if not success:
        return "FAILED"
    return "succeeded" if published else "FAILED (it published nothing)"


def _cmd_summary(args: argparse.Namespace) -> int:
    path = Settings.from_env().warehouse_path
    if not path.exists():
        raise JourneyError(
            f"no published warehouse at {path}; run `make demo` or `python -m pipelines run`"
        )
    print(warehouse_summary(path))
    return 0


def _cmd_query(args: argparse.Namespace) -> int:
    import duckdb

    path = Settings.from_env().warehouse_path
    if not path.exists():
        raise JourneyError(
            f"no published warehouse at {path}; run `make demo` or `python -m pipelines run`"
        )
    try:
        con = duckdb.connect(str(path), read_only=True)
        try:
            if (
                args.value
            ):  # one bare value, for scripts: `$(python -m pipelines query --value ...)`
                rows = con.sql(args.sql).fetchmany(2)
                if len(rows) != 1 or len(rows[0]) != 1:
                    raise JourneyError("--value needs a query returning one row of one column")
                print("" if rows[0][0] is None else rows[0][0])
            else:
                con.sql(args.sql).show(max_rows=args.max_rows, max_width=200)
        finally:
            con.close()
    except duckdb.Error as error:
        first_line = str(error).strip().splitlines()[0]
        raise JourneyError(f"the query on {path} failed: {first_line}") from None
    return 0


def _cmd_metrics(args: argparse.Namespace) -> int:
    """MetricFlow's `mf` over the published warehouse, read-only (README "Metrics")."""
    from pipelines.warehouse.metrics import run_mf

    arguments = [a for a in args.mf_arguments if a != "--"]
    return run_mf(
        arguments or ["--help"], args.warehouse or Settings.from_env().warehouse_path
    ).returncode


def _cmd_report(args: argparse.Namespace) -> int:
    """One line on stderr and exit status 2 when the report cannot be written."""
    import duckdb

    from pipelines.report import build_person_report, build_report
    from pipelines.report.build import default_output
    from pipelines.report.reader import ReportError
    from pipelines.report.trust import facts_from_disk

    settings = Settings.from_env()
    warehouse = args.warehouse or settings.warehouse_path
    period_given = args.first_day is not None or args.last_day is not None
    out = args.out or default_output(
        settings.report_dir, args.first_day, args.last_day, args.person
    )
    facts = facts_from_disk(settings.report_dir)
    try:
        if args.person:
            if period_given:
                raise ReportError("--person shows the whole journey: leave out --from and --to")
            result = build_person_report(warehouse, out, args.person, facts=facts)
        else:
            result = build_report(
                warehouse,
                out,
                facts=facts,
                first_day=args.first_day,
                last_day=args.last_day,
                image=not args.no_image,
            )
    except ReportError as error:
        print(f"report: {error}", file=sys.stderr)
        return 2
    except duckdb.Error as error:
        first_line = str(error).strip().splitlines()[0]
        print(f"report: reading {warehouse} failed: {first_line}", file=sys.stderr)
        return 2
    period = f" for {result.period.label}" if result.period else ""
    print(f"journey report{period}: {result.html_path} ({result.seconds:.1f} s)")
    for note in result.notes:
        print(f"  note: {note}")
    if result.image_path:
        print(f"map image: {result.image_path} ({result.image_seconds:.1f} s)")
    elif result.image_note:
        print(f"map image: {result.image_note}")
    return 0


def _cmd_rollback(args: argparse.Namespace) -> int:
    from pipelines.warehouse.publish import rollback

    result = rollback(Settings.from_env())
    what = "completed the interrupted rollback" if result.completed_interrupted else "rolled back"
    print(
        f"{what}: {result.warehouse_path} is generation {result.generation} again "
        f"(run {result.run_id}, published {result.created_at}; PostgreSQL: {result.postgres})"
    )
    return 0


def _cmd_rotate_key(args: argparse.Namespace) -> int:
    from pipelines.settings import SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as error:
        raise SystemExit(str(error)) from None
    print(rotate_key(settings))
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
    query.add_argument(
        "--value", action="store_true", help="print the single value the query returns, bare"
    )
    query.set_defaults(func=_cmd_query)

    report = commands.add_parser(
        "report",
        help="write the journey report of the published warehouse (or one person's journey)",
        description="Default period: the last 30 days of data, ending at the data's last day, "
        "compared with the 30 days before; --from/--to choose another (compared with the "
        "previous period of equal length).",
    )
    report.add_argument("--out", type=Path, help="HTML file (default: in JOURNEY_REPORT_DIR)")
    report.add_argument("--from", dest="first_day", type=_parse_day, help="first day (YYYY-MM-DD)")
    report.add_argument("--to", dest="last_day", type=_parse_day, help="last day (YYYY-MM-DD)")
    report.add_argument("--person", help="write this person's journey instead (a person_id)")
    report.add_argument("--warehouse", type=Path, help="default: JOURNEY_WAREHOUSE_PATH")
    report.add_argument("--no-image", action="store_true", help="skip the PNG of the map")
    report.set_defaults(func=_cmd_report)

    metrics = commands.add_parser(
        "metrics",
        help="query the semantic layer's metrics with MetricFlow (mf list metrics | mf query ...)",
        description="Runs MetricFlow's `mf` with these arguments against the published "
        "warehouse, read-only: e.g. `metrics list metrics`, `metrics query --metrics "
        "conversion_rate --group-by metric_time__month,channel`.",
    )
    metrics.add_argument("--warehouse", type=Path, help="default: JOURNEY_WAREHOUSE_PATH")
    metrics.add_argument("mf_arguments", nargs=argparse.REMAINDER, help="mf's arguments")
    metrics.set_defaults(func=_cmd_metrics)

    back = commands.add_parser("rollback", help="make the previous published warehouse live")
    back.set_defaults(func=_cmd_rollback)

    rotate = commands.add_parser(
        "rotate-key",
        help="allow the next runs to change the pseudonymisation key (JOURNEY_PSEUDONYMIZE_KEY)",
    )
    rotate.set_defaults(func=_cmd_rotate_key)

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
    try:
        return args.func(args)
    except JourneyError as error:  # the project's own errors: one line, no traceback
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
