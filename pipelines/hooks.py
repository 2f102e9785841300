"""What happens when a run fails or ends: log it, post it to a webhook, write the report if
the run could not write it itself."""

import logging

import dagster as dg
import requests

from pipelines.run_report import REPORT_STATUS_TAG, REPORT_TAG, write_run_report
from pipelines.settings import Settings

log = logging.getLogger("journey.hooks")


def post_webhook(url: str, payload: dict) -> None:
    """Best effort: a broken webhook must not hide the original failure."""
    try:
        response = requests.post(url, json=payload, timeout=10)
        response.raise_for_status()
    except requests.RequestException as error:
        log.warning(
            "failure webhook %s did not accept the notification: %s", url.split("?")[0], error
        )


@dg.failure_hook(name="notify_on_failure")
def notify_on_failure(context: dg.HookContext) -> None:
    error = context.op_exception
    message = f"Journey Warehouse run {context.run_id}: step {context.step_key} failed: {error}"
    context.log.error(message)
    settings = Settings.from_env()
    if settings.failure_webhook_url:
        post_webhook(
            settings.failure_webhook_url,
            {
                "text": message[:3000],
                "run_id": context.run_id,
                "job": context.job_name,
                "step": context.step_key,
                "error": str(error)[:3000],
            },
        )


def _write_report(context: dg.RunStatusSensorContext) -> None:
    """A run writes its own report when its last step ends; this catches the runs that ended
    otherwise (process killed, run terminated from the UI, marked failed by run monitoring)
    or whose final status differs from the one their report states."""
    run = context.dagster_run
    if run.tags.get(REPORT_STATUS_TAG) == run.status.value and run.tags.get(REPORT_TAG):
        return
    settings = Settings.from_env()
    path = write_run_report(context.instance, run.run_id, settings)
    context.log.info(f"run report written to {path}")


def build_report_sensors(job) -> list:
    """One sensor per way a run ends, running by default: the daemon `make dev` starts
    evaluates them (every 30 s)."""

    def sensor(status: dg.DagsterRunStatus) -> dg.SensorDefinition:
        @dg.run_status_sensor(
            name=f"run_report_on_{status.value.lower()}",
            run_status=status,
            monitored_jobs=[job],
            default_status=dg.DefaultSensorStatus.RUNNING,
        )
        def _report(context: dg.RunStatusSensorContext):
            _write_report(context)

        return _report

    return [
        sensor(status)
        for status in (
            dg.DagsterRunStatus.SUCCESS,
            dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED,
        )
    ]
