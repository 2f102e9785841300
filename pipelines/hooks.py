"""What happens when a run fails or ends: log it, post it to a webhook, write the report."""

import logging

import dagster as dg
import requests

from pipelines.run_report import write_run_report
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
    settings = Settings.from_env()
    path = write_run_report(context.instance, context.dagster_run.run_id, settings)
    context.log.info(f"run report written to {path}")


def build_report_sensors(job) -> list:
    @dg.run_status_sensor(
        name="run_report_on_success", run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[job]
    )
    def run_report_on_success(context: dg.RunStatusSensorContext):
        _write_report(context)

    @dg.run_status_sensor(
        name="run_report_on_failure", run_status=dg.DagsterRunStatus.FAILURE, monitored_jobs=[job]
    )
    def run_report_on_failure(context: dg.RunStatusSensorContext):
        _write_report(context)

    return [run_report_on_success, run_report_on_failure]
