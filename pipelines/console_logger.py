"""The terminal view of a run started by the CLI (`python -m pipelines run`, `make demo`).

A Dagster logger that writes the run's log to the command's `Console` (pipelines.console):
every line a step logs at INFO and above (extraction progress and retries, dbt's node n of N,
identity phases, checks n of N, publish), and one line when a step starts, ends or fails —
its duration read from the event log, as the run report reads it, and a failure's cause and
what to do, as the run report words it. Dagster's own event records (materializations, check
evaluations, …) stay in the Dagster UI.
"""

from __future__ import annotations

import logging
import time

import dagster as dg

from pipelines.console import Console, current_console, format_seconds
from pipelines.failures import explain_failure

READ_ATTEMPTS = 5
LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING}
# dagster-dbt's own lines about how it calls dbt: the step's log in the UI keeps them; the
# terminal has the progress lines of `pipelines.warehouse.dbt_progress` instead.
QUIET_ON_TERMINAL = (
    "A dbt subsetted execution is not being performed",
    "Copying `",
    "Running dbt command: `",
    "Finished dbt command: `",
)


class _ConsoleHandler(logging.Handler):
    def __init__(
        self, console: Console, instance: dg.DagsterInstance, run_id: str, level: int
    ) -> None:
        super().__init__(level=logging.DEBUG)  # Dagster logs its step events at DEBUG
        self.threshold = level
        self.console = console
        self.instance = instance
        self.run_id = run_id

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._emit(record)
        except Exception:  # the console must never break a run
            self.handleError(record)

    def _emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key")
        if event is None:
            if record.levelno < self.threshold:
                return
            text = str(meta.get("orig_message") or record.getMessage())
            if text.startswith(QUIET_ON_TERMINAL):
                return
            if record.levelno >= logging.ERROR:
                text = f"ERROR {text}"
            elif record.levelno >= logging.WARNING:
                text = f"warning: {text}"
            self.console.line(text, label=step)
            return
        kind = event.event_type_value
        if kind == "STEP_START":
            self.console.activity(f"running {step}")
            self.console.line("started", label=step)
        elif kind == "STEP_SUCCESS":
            self.console.activity("between steps")
            self.console.line(f"done in {format_seconds(self._seconds(step))}", label=step)
        elif kind == "STEP_FAILURE":
            self.console.activity("between steps")
            failure = explain_failure(str(step), event.event_specific_data.error)
            lines = [f"FAILED after {format_seconds(self._seconds(step))}: {failure.error}"]
            if failure.cause != failure.error:
                lines.append(f"root cause: {failure.cause}")
            lines.append(f"what to do: {failure.action}")
            self.console.line("\n".join(lines), label=step)
        elif kind == "STEP_UP_FOR_RETRY":
            self.console.line(f"will be retried: {event.message or ''}".strip(), label=step)
        elif kind == "STEP_RESTARTED":
            self.console.line("retrying", label=step)

    def _seconds(self, step: str | None) -> float | None:
        """The step's duration by the event log. Read again a few times if the read fails or
        does not see the step's end yet (a busy SQLite file): the line must not go missing."""
        from pipelines.run_report import step_seconds

        if not step:
            return None
        for attempt in range(READ_ATTEMPTS):
            try:
                seconds = step_seconds(self.instance, self.run_id, step)
            except Exception:
                if attempt == READ_ATTEMPTS - 1:
                    return None
                seconds = None
            if seconds is not None:
                return seconds
            time.sleep(0.05 * (attempt + 1))
        return None


def console_logger(instance: dg.DagsterInstance) -> dg.LoggerDefinition:
    """A logger definition writing to the active console (or a new one on standard error)."""

    @dg.logger(
        config_schema={"log_level": dg.Field(str, is_required=False, default_value="INFO")},
        description="The run's progress on the terminal of `python -m pipelines run`.",
    )
    def journey_console(init_context: dg.InitLoggerContext) -> logging.Logger:
        level = LEVELS.get(str(init_context.logger_config["log_level"]).upper(), logging.INFO)
        logger = logging.Logger("journey.console", level=logging.DEBUG)
        console = current_console() or Console()
        logger.addHandler(_ConsoleHandler(console, instance, init_context.run_id or "", level))
        return logger

    return journey_console
