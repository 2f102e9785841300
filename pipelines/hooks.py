"""What happens when a run fails or ends: log it, post it to a webhook, write the report if
the run could not write it itself."""

import logging

import dagster as dg
import requests

from pipelines.privacy.samples import SampleGuard
from pipelines.privacy.secrets import Scrubber, public_location, scrubbed_logs, url_secret_forms
from pipelines.run_report import REPORT_STATUS_TAG, REPORT_TAG, write_run_report
from pipelines.settings import Secret, Settings

log = logging.getLogger("journey.hooks")


def post_webhook(url: Secret, payload: dict) -> None:
    """Best effort: a broken webhook must not hide the original failure.

    The URL is a secret (chat webhooks carry their token in the path): a failure is logged with
    the receiver's host and what went wrong, never the URL or the library's message quoting it.
    """
    try:
        with scrubbed_logs(Scrubber.of(url_secret_forms(url.reveal())), "urllib3.connectionpool"):
            response = requests.post(url.reveal(), json=payload, timeout=10)
        response.raise_for_status()
    except requests.HTTPError as error:
        what = f"HTTP {error.response.status_code}" if error.response is not None else "HTTP error"
        _webhook_failed(url, what)
    except requests.RequestException as error:
        _webhook_failed(url, type(error).__name__)


def _webhook_failed(url: Secret, what: str) -> None:
    log.warning(
        "failure webhook at %s did not accept the notification (%s); check "
        "JOURNEY_FAILURE_WEBHOOK_URL",
        public_location(url.reveal()),
        what,
    )


@dg.failure_hook(name="notify_on_failure")
def notify_on_failure(context: dg.HookContext) -> None:
    settings = Settings.from_env()
    # no credential and no raw e-mail (a database error may quote a value) leaves the run
    guard = SampleGuard.from_settings(settings)
    error = settings.scrubber().scrub(guard.protect(str(context.op_exception)))
    message = f"Journey Warehouse run {context.run_id}: step {context.step_key} failed: {error}"
    context.log.error(message)
    if settings.failure_webhook_url:
        post_webhook(
            settings.failure_webhook_url,
            {
                "text": message[:3000],
                "run_id": context.run_id,
                "job": context.job_name,
                "step": context.step_key,
                "error": error[:3000],
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
