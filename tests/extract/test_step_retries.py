"""The extraction steps' retry policy, through Dagster (issue 18, item 8): what a later attempt
cannot fix (refused credentials, a body that is not JSON, a file breaking the contract) fails
at once; what may pass later (a vendor down, a dropped connection) is retried.

The real extraction asset runs against the sandbox vendor server with injected faults; only
the policy's delay is zero here (the nightly job waits 30 s, then 60 s).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from devkit.sandbox import Fault
from pipelines.assets.common import EXTRACTION_RETRY, day_range_tags
from pipelines.assets.extraction import build_extraction_assets
from pipelines.extract.errors import (
    AuthenticationError,
    MalformedResponseError,
    RetriesExhaustedError,
    SchemaDriftError,
    is_transient,
)
from pipelines.resources import JourneyResource
from pipelines.settings import Settings, temporary_environment
from tests.extract.conftest import LAST_DAY

NO_DELAY = dg.RetryPolicy(max_retries=EXTRACTION_RETRY.max_retries)
HTTP = {
    "JOURNEY_PARTITIONS_START": "2025-12-01",
    "JOURNEY_HTTP_MAX_RETRIES": "0",
    "JOURNEY_HTTP_TIMEOUT_SECONDS": "2",
    "JOURNEY_HTTP_BACKOFF_SECONDS": "0",
    "DAGSTER_HOME": "",
}


def materialize(source: str, env: dict[str, str], tmp_path: Path) -> dg.ExecuteInProcessResult:
    with temporary_environment({**HTTP, **env}):
        settings = Settings.from_env()
        [asset] = [
            a
            for a in build_extraction_assets(retry_policy=NO_DELAY)
            if a.op.name == f"extract_{source}"
        ]
        return dg.materialize(
            [asset],
            resources={"journey": JourneyResource(data_dir=str(tmp_path / "data"))},
            instance=dg.DagsterInstance.ephemeral(),
            tags=day_range_tags(settings.partitions_start, LAST_DAY, full_refresh=True),
            raise_on_error=False,
        )


def attempts(result: dg.ExecuteInProcessResult) -> int:
    events = result.all_events
    return 1 + sum(1 for event in events if event.event_type_value == "STEP_UP_FOR_RETRY")


def failure_cause(result: dg.ExecuteInProcessResult) -> str:
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error = failure.step_failure_data.error
    while error.cause is not None:
        error = error.cause
    return error.cls_name or ""


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault("auth_failure", "zendesk", times=None), AuthenticationError),
        (Fault("malformed_json", "zendesk", times=None), MalformedResponseError),
    ],
    ids=["401", "parse error"],
)
def test_errors_a_retry_cannot_fix_fail_at_once(sandbox, tmp_path: Path, fault, error):
    server = sandbox([fault])
    result = materialize("zendesk", server.env(), tmp_path)
    assert not result.success
    assert attempts(result) == 1
    assert failure_cause(result) == error.__name__
    assert error.transient is False


def test_only_network_and_availability_failures_are_transient():
    exhausted = RetriesExhaustedError("x", source="s", stream=None, path="/", last_status="503")
    assert is_transient(exhausted) and is_transient(ConnectionResetError())
    assert is_transient(TimeoutError())
    for error in (
        AuthenticationError("x", source="s"),
        MalformedResponseError("x", source="s", stream=None, path="/", last_status="bad"),
        SchemaDriftError("x", source="s"),
        KeyError("a bug"),
        OSError(28, "No space left on device"),
    ):
        assert not is_transient(error), error


def test_a_file_breaking_the_contract_fails_at_once(tmp_path: Path):
    drop = tmp_path / "drop" / "reviews"
    drop.mkdir(parents=True)
    (drop / "reviews.csv").write_text("review_id,title\nr1,no email, rating or date\n")
    result = materialize("filedrop", {"JOURNEY_DROP_DIR": str(tmp_path / "drop")}, tmp_path)
    assert not result.success
    assert attempts(result) == 1
    assert failure_cause(result) == SchemaDriftError.__name__


def test_a_vendor_that_stays_down_is_retried_by_the_step_policy(sandbox, tmp_path: Path):
    server = sandbox([Fault("server_error", "zendesk", times=None)])
    result = materialize("zendesk", server.env(), tmp_path)
    assert not result.success
    assert attempts(result) == 1 + EXTRACTION_RETRY.max_retries == 3
    assert failure_cause(result) == RetriesExhaustedError.__name__
    served = [entry for entry in server.request_log if entry["status"] == 500]
    assert len(served) == 3  # one request per attempt (the client's own retries are off)


def test_a_transient_failure_heals_on_the_step_retry(sandbox, tmp_path: Path):
    server = sandbox([Fault("disconnect", "zendesk", times=1)])
    result = materialize("zendesk", server.env(), tmp_path)
    assert result.success
    assert attempts(result) == 2
    landed = {
        event.asset_key.path[1]: event.step_materialization_data.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    assert landed["tickets"]["records"].value > 0
