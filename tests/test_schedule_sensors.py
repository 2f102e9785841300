"""The failure hook, the run-report sensors and the run monitor sensor, evaluated by Dagster on
real runs in a temporary instance (issue 16, item 8). The schedule's ticks are tested in
tests/assets/test_time_zones.py and tests/assets/test_run_range.py."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import dagster as dg
import pytest

from pipelines.hooks import build_report_sensors, notify_on_failure
from pipelines.run_monitor import HOST_TAG, PID_TAG, PROCESS_STARTED_TAG, build_run_monitor_sensor
from pipelines.run_report import REPORT_STATUS_TAG, REPORT_TAG
from pipelines.settings import temporary_environment

WEBHOOK_TOKEN = "T0ken-in-the-path-5f1c9a"


@dg.op
def extract_matomo() -> None:
    raise RuntimeError(f"vendor said no; we called /hook/{WEBHOOK_TOKEN} about it")


@dg.op
def fine() -> None:
    return None


@dg.job(hooks={notify_on_failure})
def failing_night() -> None:
    extract_matomo()


@dg.job
def good_night() -> None:
    fine()


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append({"path": self.path, "json": json.loads(body)})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook/{WEBHOOK_TOKEN}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def environment(tmp_path: Path) -> Iterator[Path]:
    """Settings pointing into a scratch folder; returns the report folder."""
    warehouse = tmp_path / "warehouse" / "journey.duckdb"
    with temporary_environment(
        {"JOURNEY_WAREHOUSE_PATH": str(warehouse), "JOURNEY_DATA_DIR": str(tmp_path / "data")}
    ):
        yield warehouse.parent / "reports"


def test_a_failed_step_is_posted_to_the_webhook_without_its_secret(webhook, environment):
    with temporary_environment({"JOURNEY_FAILURE_WEBHOOK_URL": webhook}):
        result = failing_night.execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
        )
    assert not result.success
    [post] = _Receiver.received
    payload = post["json"]
    assert post["path"] == f"/hook/{WEBHOOK_TOKEN}"
    assert payload["run_id"] == result.run_id
    assert (payload["job"], payload["step"]) == ("failing_night", "extract_matomo")
    assert "vendor said no" in payload["error"]
    # the webhook URL is a secret: its token never travels in the notification
    assert WEBHOOK_TOKEN not in json.dumps(payload)
    assert payload["text"].startswith(f"Journey Warehouse run {result.run_id}: step extract_matomo")


def test_no_webhook_no_post_and_the_run_still_fails_with_its_own_error(webhook, environment):
    result = failing_night.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success and _Receiver.received == []
    [failure] = result.get_step_failure_events()
    assert "vendor said no" in failure.step_failure_data.error.cause.message


def _final_event(instance: dg.DagsterInstance, run_id: str, kind: dg.DagsterEventType):
    [entry] = instance.all_logs(run_id, of_type=kind)
    return entry.dagster_event


@pytest.mark.parametrize(
    ("job", "status", "kind"),
    [
        (failing_night, dg.DagsterRunStatus.FAILURE, dg.DagsterEventType.RUN_FAILURE),
        (good_night, dg.DagsterRunStatus.SUCCESS, dg.DagsterEventType.RUN_SUCCESS),
    ],
)
def test_the_report_sensor_writes_a_missing_report_once(environment, job, status, kind):
    instance = dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    run = instance.get_run_by_id(result.run_id)
    assert run.status == status and REPORT_TAG not in run.tags  # nothing wrote its report
    sensors = {sensor.name: sensor for sensor in build_report_sensors(job)}
    assert set(sensors) == {
        "run_report_on_success",
        "run_report_on_failure",
        "run_report_on_canceled",
    }
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in sensors.values())
    sensor = sensors[f"run_report_on_{status.value.lower()}"]
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=_final_event(instance, run.run_id, kind),
        dagster_instance=instance,
        dagster_run=run,
    )
    sensor(context)
    run = instance.get_run_by_id(result.run_id)
    assert run.tags[REPORT_STATUS_TAG] == status.value
    report = Path(run.tags[REPORT_TAG])
    assert report.parent.parent == environment and report.exists()
    written = json.loads(report.with_suffix(".json").read_text())
    assert (written["run_id"], written["status"]) == (run.run_id, status.value)
    # the report states the run's final status: a second evaluation leaves it alone
    report.unlink()
    sensor(
        dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=_final_event(instance, run.run_id, kind),
            dagster_instance=instance,
            dagster_run=run,
        )
    )
    assert not report.exists()


def _dead_process() -> tuple[int, float]:
    """The pid of a process that has exited, and a start time at or after its start."""
    started = time.time()
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    return process.pid, started + 1


def test_the_run_monitor_sensor_fails_a_run_whose_process_is_gone():
    instance = dg.DagsterInstance.ephemeral()
    pid, started = _dead_process()
    here = socket.gethostname()
    dead = instance.create_run_for_job(
        good_night,
        status=dg.DagsterRunStatus.STARTED,
        tags={PID_TAG: str(pid), HOST_TAG: here, PROCESS_STARTED_TAG: f"{started:.3f}"},
    )
    elsewhere = instance.create_run_for_job(
        good_night,
        status=dg.DagsterRunStatus.STARTED,
        tags={PID_TAG: str(pid), HOST_TAG: "another-host", PROCESS_STARTED_TAG: f"{started:.3f}"},
    )
    sensor = build_run_monitor_sensor()
    assert sensor.name == "run_monitor" and sensor.default_status == dg.DefaultSensorStatus.RUNNING
    outcome = sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(outcome, dg.SkipReason)
    assert outcome.skip_message == "1 dead run(s) marked failed"
    assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
    # a run on another host cannot be checked from here: left alone
    assert instance.get_run_by_id(elsewhere.run_id).status == dg.DagsterRunStatus.STARTED
    again = sensor(dg.build_sensor_context(instance=instance))
    assert again.skip_message == "no dead runs"
