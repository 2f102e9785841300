"""The nightly run report: what landed, what was checked, what was published — and if not, why.

Built from the Dagster event log of one run, so it reports what actually happened, whether
the run was started by the schedule, the UI, a backfill or the CLI. Written as JSON (for
machines) and Markdown (for the morning reader) to `{report_dir}/<run date>/<run id>.{json,md}`,
with `latest.json` / `latest.md` beside them, and linked from the run in the Dagster UI by the
run tag `journey/run_report`.

Every run writes its own report when its last step has ended (`JourneyResource`'s teardown);
the run-report sensor writes or corrects it for a run that ended otherwise (killed, terminated).
Durations come from the event log's timestamps only (`stage_timings`), the same numbers the
console prints: one clock, one source. A failed run's report names the failing step, the
error our code raised, its innermost cause and what to do (`pipelines.failures`).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines.failures import Failure, explain_failure
from pipelines.settings import DBT_PROJECT_DIR, Settings

REPORT_TAG = "journey/run_report"
REPORT_STATUS_TAG = "journey/run_report_status"
STEP_EVENTS = {"STEP_START", "STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"}
LANDING_SOURCES = {"matomo", "mailchimp", "shopify", "zendesk", "filedrop"}
PUBLISH_KEY = dg.AssetKey(["warehouse", "published"])
JOURNEY_REPORT_KEY = dg.AssetKey(["reports", "journey_report"])
DBT_FAILED_ROWS = "dagster_dbt/failed_row_count"
SAMPLE_ROWS = 5
UNEXPECTED_VALUES = 20


def _metadata_value(value: Any) -> Any:
    raw = getattr(value, "value", value)
    if isinstance(raw, (str, int, float, bool)) or raw is None:
        return raw
    if isinstance(raw, (list, dict)):
        return raw
    return str(raw)


def _metadata(entries: dict) -> dict[str, Any]:
    return {key: _metadata_value(value) for key, value in (entries or {}).items()}


# The failing rows of dbt's value-set tests: one row per value with its count.
VALUE_COLUMNS = {
    frozenset({"value_field", "n_records"}): "value_field",  # dbt's accepted_values
    frozenset({"unknown_value", "n_records"}): "unknown_value",  # our known_values
}


def _built_warehouse(settings: Settings, published: bool) -> Path:
    """The whole warehouse file the run built (with staging and dbt's `test_failures`): the
    live generation's private build state once the night published, else the build file."""
    if published:
        from pipelines.warehouse.generations import load_generation, read_pointer

        pointer = read_pointer(settings)
        if pointer is not None:
            return load_generation(settings, pointer.current).state_file
    return settings.build_warehouse_path


def _add_dbt_failure_samples(
    settings: Settings, failed: list[dict[str, Any]], published: bool = False
) -> None:
    """A few failing rows of each failed dbt test, from the view dbt stored them in
    (`store_failures_as: view`, schema test_failures of the warehouse the run built)."""
    wanted = [
        c for c in failed if DBT_FAILED_ROWS in c["metadata"] and "sample" not in c["metadata"]
    ]
    build = _built_warehouse(settings, published)
    if not wanted or not build.exists():
        return
    import duckdb

    try:
        # dbt's views name the catalog they were built in (the build file's name); a published
        # night's build is kept under another name, so it is attached under the original one
        con = duckdb.connect()
        catalog = settings.build_warehouse_path.stem
        path = str(build).replace("'", "''")
        con.execute(f"attach '{path}' as \"{catalog}\" (read_only)")
        con.execute(f'use "{catalog}"')
    except duckdb.Error:
        return  # the build is open elsewhere; the report still has the failed row count
    try:
        for check in wanted:
            try:
                frame = con.sql(
                    f'select * from test_failures."{check["check"]}" limit {SAMPLE_ROWS}'
                )
                check["metadata"]["sample"] = [
                    {key: _metadata_value(value) for key, value in row.items()}
                    for row in frame.to_arrow_table().to_pylist()
                ]
                value_column = VALUE_COLUMNS.get(frozenset(frame.columns))
                if value_column:  # accepted_values / known_values: one row per value
                    check["metadata"]["unexpected_values"] = [
                        {"value": _metadata_value(value), "count": int(count)}
                        for value, count in con.execute(
                            f'select {value_column}, n_records from test_failures."{check["check"]}" '
                            f"order by n_records desc, {value_column} limit {UNEXPECTED_VALUES}"
                        ).fetchall()
                    ]
            except duckdb.Error:
                continue
    finally:
        con.close()


def _add_dbt_descriptions(checks: list[dict[str, Any]]) -> None:
    """What each failed or warned dbt test checks and what to do, from the dbt manifest
    (pipelines/quality/dbt_test_descriptions.py; a GX check's message already says it)."""
    wanted = [c for c in checks if DBT_FAILED_ROWS in c["metadata"]]
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not wanted or not manifest.exists():
        return
    from pipelines.quality.dbt_test_descriptions import descriptions_from

    try:
        descriptions = descriptions_from(manifest)
    except (OSError, ValueError):
        return  # a manifest being rewritten: the report still names the check
    for check in wanted:
        if descriptions.get(check["check"]):
            check["description"] = descriptions[check["check"]]


def _removed_records(settings: Settings, published: bool) -> list[dict[str, Any]]:
    """Records the vendors removed (deleted or merged tickets and their ratings), counted per
    source, stream and reason from `marts.fct_removed_records` of the warehouse the run built
    (the published file when it published, else the build). Empty when there is none."""
    path = _built_warehouse(settings, published)
    if not path.exists():
        return []
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return []  # held read-write elsewhere; the counts are in the warehouse itself
    try:
        rows = con.sql(
            "select source, stream, removal_reason, count(*) as records "
            "from marts.fct_removed_records group by all order by all"
        ).fetchall()
    except duckdb.Error:
        return []  # a run that stopped before the mart was built
    finally:
        con.close()
    return [
        {"source": source, "stream": stream, "removal_reason": reason, "records": records}
        for source, stream, reason, records in rows
    ]


def stage_timings(entries) -> dict[str, dict[str, Any]]:
    """Per step: start and end (event-log timestamps), status, seconds — from the event log's
    STEP_* entries, for the report and the console alike."""
    steps: dict[str, dict[str, Any]] = defaultdict(dict)
    for entry in entries:
        event = entry.dagster_event
        if event is None or not event.step_key or event.event_type_value not in STEP_EVENTS:
            continue
        info = steps[event.step_key]
        if event.event_type_value == "STEP_START":
            info.setdefault("started", entry.timestamp)
        else:
            info["ended"] = entry.timestamp
            info["status"] = event.event_type_value.removeprefix("STEP_").lower()
    for info in steps.values():
        started, ended = info.get("started"), info.get("ended")
        info["seconds"] = round(ended - started, 2) if started and ended else None
    return dict(steps)


def step_seconds(instance: dg.DagsterInstance, run_id: str, step: str) -> float | None:
    """How long `step` of `run_id` took, by the event log (what the report will say)."""
    entries = instance.all_logs(
        run_id,
        of_type={dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS,
                 dg.DagsterEventType.STEP_FAILURE},
    )  # fmt: skip
    return stage_timings(entries).get(step, {}).get("seconds")


def collect_run_report(
    instance: dg.DagsterInstance, run_id: str, settings: Settings | None = None
) -> dict[str, Any]:
    run = instance.get_run_by_id(run_id)
    if run is None:
        raise ValueError(f"no run {run_id} in the Dagster instance at {instance.root_directory}")
    stats = instance.get_run_stats(run_id)
    entries = instance.all_logs(run_id)
    steps = stage_timings(entries)
    landing: list[dict[str, Any]] = []
    identity: dict[str, Any] = {}
    checks: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    published: dict[str, Any] | None = None
    journey_report: dict[str, Any] | None = None

    failures: list[Failure] = []
    docs = str(settings.docs_dir) if settings is not None else "<docs dir>"
    for entry in entries:
        event = entry.dagster_event
        if event is None:
            continue
        kind = event.event_type_value
        step = event.step_key
        # one payload type per event kind, told apart by `kind` below
        data: Any = event.event_specific_data
        if kind == "STEP_FAILURE" and step:
            error = data.error
            failure = explain_failure(step, error, docs)
            failures.append(failure)
            errors.append(
                {
                    "step": step,
                    "message": error.message.strip() if error else "",
                    **failure.as_dict(),
                }
            )
        elif kind == dg.DagsterEventType.RUN_FAILURE.value and not failures and event.message:
            # the run died outside any step (its process was killed, or it failed to start)
            failure = Failure(
                step="(run)",
                kind="other",
                error=event.message,
                cause=event.message,
                action="The run's process stopped before its steps ended (killed, out of "
                "memory, or the machine restarted): re-run the night; nothing was published.",
            )
            failures.append(failure)
            errors.append({"step": "(run)", "message": event.message, **failure.as_dict()})
        elif kind == "ASSET_MATERIALIZATION":
            materialization = data.materialization
            key = materialization.asset_key
            metadata = _metadata(materialization.metadata)
            if key.path[0] in LANDING_SOURCES and len(key.path) == 2:
                landing.append({"source": key.path[0], "stream": key.path[1], **metadata})
            elif key == dg.AssetKey(["identity", "identity_map"]):
                identity = {k: v for k, v in metadata.items() if k != "path"}
            elif key == PUBLISH_KEY:
                published = metadata
            elif key == JOURNEY_REPORT_KEY:
                journey_report = metadata
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = data
            metadata = _metadata(evaluation.metadata)
            if DBT_FAILED_ROWS in metadata:  # a dbt test: same keys as the GX checks
                metadata.setdefault("failed_rows", metadata[DBT_FAILED_ROWS])
            checks.append(
                {
                    "asset": evaluation.asset_key.to_user_string(),
                    "check": evaluation.check_name,
                    "passed": evaluation.passed,
                    "severity": evaluation.severity.value,
                    "blocking": bool(evaluation.blocking),
                    "metadata": metadata,
                }
            )

    stages = [
        {"step": step, "status": info.get("status", "running"), "seconds": info["seconds"]}
        for step, info in steps.items()
    ]
    _add_dbt_descriptions([c for c in checks if not c["passed"]])
    failed_checks = [c for c in checks if not c["passed"] and c["severity"] == "ERROR"]
    failure = failures[0] if failures else None
    if failure is not None and failure.kind == "checks" and failed_checks:
        failure = _checks_failure(failure, failed_checks)
        errors[0].update(failure.as_dict())
    ends = [info["ended"] for info in steps.values() if info.get("ended")]
    ended = max(ends) if ends else stats.end_time
    status = run.status.value
    if not run.is_finished:  # written by the run itself, as its last step has ended
        status = "FAILURE" if failures else "SUCCESS"
    if settings is not None:
        _add_dbt_failure_samples(
            settings, [c for c in checks if not c["passed"]], published is not None
        )
    warned_checks = [c for c in checks if not c["passed"] and c["severity"] == "WARN"]
    check_timings = _check_timings(checks)
    tags = run.tags
    return {
        "run_id": run_id,
        "job": run.job_name,
        "status": status,
        "started_at": _iso(stats.start_time),
        "ended_at": _iso(ended),
        "seconds": round(ended - stats.start_time, 2) if stats.start_time and ended else None,
        "partitions": _data_days(
            tags, settings.schedule_timezone if settings else "UTC", stats.start_time
        ),
        "full_refresh": tags.get("journey/full_refresh", "false") == "true",
        "published": published is not None,
        "publish": published or {"reason": _not_published_reason(failed_checks, failure, status)},
        "journey_report": journey_report,
        "failure": failure.as_dict() if failure else None,
        "landing": landing,
        "landing_totals": {
            "records": sum(int(item.get("records") or 0) for item in landing),
            "quarantined": sum(int(item.get("quarantined") or 0) for item in landing),
        },
        "identity": identity,
        "removed_records": _removed_records(settings, published is not None) if settings else [],
        "checks": {
            "passed": sum(1 for c in checks if c["passed"]),
            "warned": len(warned_checks),
            "failed": len(failed_checks),
            "failures": failed_checks,
            "warnings": warned_checks,
            "timings": check_timings,
        },
        "stages": stages,
        "errors": errors,
    }


def _data_days(tags, timezone: str, started: float | None) -> dict[str, str | None]:
    """The run's data days (`journey/first_day` .. `journey/last_day`; a run without them
    covered the day before its start, in the schedule's time zone)."""
    from pipelines.assets.common import RunRangeError, run_day_range

    now = datetime.fromtimestamp(started, UTC) if started else None
    try:
        first, last = run_day_range(tags, timezone=timezone, now=now)
    except RunRangeError:
        return {"start": None, "end": None}
    return {"start": first.isoformat(), "end": last.isoformat()}


def _iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp else None


def _check_timings(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per quality suite, slowest first: its checks, frame rows, seconds to build the frame in
    DuckDB and to validate it with GX (the suite's checks run in one validation)."""
    suites: dict[str, dict[str, Any]] = {}
    for check in checks:
        metadata = check["metadata"]
        if "validate_seconds" not in metadata:
            continue  # a dbt test (timed in dbt's run_results.json)
        timing = suites.setdefault(
            metadata.get("suite", check["asset"]),
            {
                "suite": metadata.get("suite", check["asset"]),
                "checks": 0,
                "rows": metadata.get("rows"),
                "frame_seconds": metadata.get("frame_seconds"),
                "validate_seconds": metadata["validate_seconds"],
            },
        )
        timing["checks"] += 1
    return sorted(
        suites.values(),
        key=lambda t: -((t["frame_seconds"] or 0) + (t["validate_seconds"] or 0)),
    )


def _checks_failure(failure: Failure, failed_checks: list[dict[str, Any]]) -> Failure:
    """A blocking-check failure's cause is the checks themselves: which, on how many rows."""

    def line(check: dict[str, Any]) -> str:
        metadata = check["metadata"]
        if metadata.get("message"):
            return str(metadata["message"])
        rows = metadata.get("failed_rows")
        what = f": {check['description']}" if check.get("description") else ""
        return (
            f"{check['asset']}:{check['check']} failed"
            + (f" on {rows} rows" if rows else "")
            + what
        )

    return Failure(
        step=failure.step,
        kind="checks",
        error=failure.error,
        cause="\n".join(line(check) for check in failed_checks),
        action=failure.action,
    )


def _not_published_reason(failed_checks: list, failure: Failure | None, status: str) -> str:
    from pipelines.quality.gate import GATE_CHECK

    gate = [c["metadata"].get("message") for c in failed_checks if c["check"] == GATE_CHECK]
    if gate:  # the quarantine gate's own line says which stream, how many and why
        others = [f"{c['asset']}:{c['check']}" for c in failed_checks if c["check"] != GATE_CHECK]
        also = f"; other blocking checks failed: {', '.join(others)}" if others else ""
        return f"{' | '.join(map(str, gate))}{also}; the previous warehouse stays live"
    if failed_checks:
        names = ", ".join(f"{c['asset']}:{c['check']}" for c in failed_checks)
        return f"blocking checks failed: {names}; the previous warehouse stays live"
    if failure is not None:
        return f"{failure.summary()}; the previous warehouse stays live"
    return f"run ended with status {status} before publishing"


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Journey Warehouse run {report['run_id']}",
        "",
        f"- status: **{report['status']}**, published: **{'yes' if report['published'] else 'NO'}**",
        f"- data days: {report['partitions']['start']} .. {report['partitions']['end']}"
        + (" (full refresh)" if report["full_refresh"] else ""),
        f"- started {report['started_at']}, took {report['seconds']} s",
    ]
    if not report["published"]:
        lines.append(f"- why not published: {report['publish']['reason']}")
    else:
        lines.append(f"- warehouse: {report['publish'].get('path')}")
    if report.get("journey_report"):
        lines.append(f"- journey report: {report['journey_report'].get('path')}")
    failure = report.get("failure")
    if failure:
        lines += [
            "",
            "## Why the run failed",
            "",
            f"- failing step: `{failure['step']}` ({failure['kind']})",
            f"- error: {_quoted(failure['error'])}",
        ]
        if failure["cause"] != failure["error"]:
            lines.append(f"- root cause: {_quoted(failure['cause'])}")
        lines.append(f"- what to do: {failure['action']}")
    lines += [
        "",
        "## Landing",
        "",
        "| source | stream | status | records | quarantined | records/s | retries |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for item in report["landing"]:
        lines.append(
            f"| {item['source']} | {item['stream']} | {item.get('status')} | {item.get('records')} "
            f"| {item.get('quarantined')} | {item.get('records_per_second')} "
            f"| {item.get('retries', '')} |"
        )
    checks = report["checks"]
    lines += [
        "",
        f"## Checks: {checks['passed']} passed, {checks['warned']} warned, {checks['failed']} failed",
        "",
    ]
    for label, items in (("FAILED", checks["failures"]), ("warning", checks["warnings"])):
        for item in items:
            values = item["metadata"].get("unexpected_values")
            if values:  # e.g. a vendor's new enumeration value: which values, how many rows
                listed = ", ".join(f"`{entry['value']}` ({entry['count']:,})" for entry in values)
                lines.append(
                    f"- {label}: `{item['asset']}` / `{item['check']}`: unexpected values {listed}"
                )
                if item.get("description"):
                    lines.append(f"  - {item['description']}")
                continue
            detail = {
                k: v
                for k, v in item["metadata"].items()
                if k in ("failed_rows", "sample", "observed", "bound", "message")
            }
            lines.append(
                f"- {label}: `{item['asset']}` / `{item['check']}` {json.dumps(detail, default=str)}"
            )
            if item.get("description"):
                lines.append(f"  - {item['description']}")
    timings = checks.get("timings") or []
    if timings:
        lines += [
            "",
            "### Check timings (per suite, slowest first)",
            "",
            "| suite | checks | rows | frame s | validation s |",
            "|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {t['suite']} | {t['checks']} | {t['rows']} | {t['frame_seconds']} "
            f"| {t['validate_seconds']} |"
            for t in timings
        ]
    if report.get("removed_records"):
        lines += ["", "## Removed by the vendors (left out of every mart)", ""]
        lines += [
            f"- {item['source']}/{item['stream']}: {item['records']} {item['removal_reason']}"
            for item in report["removed_records"]
        ]
    if report["identity"]:
        lines += ["", "## Identity", ""]
        lines += [f"- {key}: {value}" for key, value in report["identity"].items()]
    lines += ["", "## Stages", "", "| step | status | seconds |", "|---|---|---:|"]
    lines += [f"| {s['step']} | {s['status']} | {s['seconds']} |" for s in report["stages"]]
    if report["errors"]:
        lines += ["", "## Errors", ""]
        lines += [f"- `{e['step']}`: {e['message'][:2000]}" for e in report["errors"]]
    return "\n".join(lines) + "\n"


def protect_report(report: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The report as it may be written: check samples and error texts pseudonymised like the
    published tables (masked without a key), and every credential masked in every form (a
    vendor may quote one). See `pipelines.privacy`."""
    from pipelines.privacy.samples import SampleGuard

    guard = SampleGuard.from_settings(settings)
    protected = {
        part: guard.protect(value) if part in ("checks", "errors", "failure") else value
        for part, value in report.items()
    }
    return settings.scrubber().scrub_data(protected)


def _quoted(text: str) -> str:
    """A possibly multi-line error as one Markdown list item (a fenced block when long)."""
    text = text.strip()
    if "\n" not in text:
        return text
    return "\n\n  ```text\n" + "\n".join(f"  {line}" for line in text.splitlines()) + "\n  ```"


def write_run_report(instance: dg.DagsterInstance, run_id: str, settings: Settings) -> Path:
    """Write the report of `run_id` (JSON + Markdown, and `latest.*`) and link it from the run
    (tags `journey/run_report` and `journey/run_report_status`). Returns the JSON path."""
    report = protect_report(collect_run_report(instance, run_id, settings), settings)
    day = (report["started_at"] or datetime.now(UTC).isoformat())[:10]
    folder = settings.report_dir / day
    folder.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(report, indent=2, default=str)
    markdown = render_markdown(report)
    for name, text in (
        (folder / f"{run_id}.json", payload),
        (folder / f"{run_id}.md", markdown),
        (settings.report_dir / "latest.json", payload),
        (settings.report_dir / "latest.md", markdown),
    ):
        tmp = name.with_name(name.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, name)
    instance.add_run_tags(
        run_id, {REPORT_TAG: str(folder / f"{run_id}.md"), REPORT_STATUS_TAG: report["status"]}
    )
    return folder / f"{run_id}.json"


def report_of_run(instance: dg.DagsterInstance, run_id: str) -> Path | None:
    """The JSON report the run links to (its `journey/run_report` tag), if it was written."""
    run = instance.get_run_by_id(run_id)
    linked = run.tags.get(REPORT_TAG) if run is not None else None
    if not linked:
        return None
    path = Path(linked).with_suffix(".json")
    return path if path.exists() else None
