"""The quarantine gate (issue 15): per stream and night, the quarantined share against
JOURNEY_QUARANTINE_MAX_SHARE, everything quarantined, a stream that vanished — measured on the
files the real landing code writes, and enforced as a blocking Dagster check that keeps the
publish from running and says why in one line of the run report."""

import json
from datetime import UTC, date, datetime

import dagster as dg
import polars as pl
import pytest

from pipelines.assets.gate import build_quarantine_gate
from pipelines.extract.landing import StreamWriter, validate_records
from pipelines.extract.streams import stream_spec
from pipelines.quality.gate import (
    STATE_FILE_NAME,
    StreamNight,
    judge_night,
    mask,
    masked_reason,
    measure_night,
)
from pipelines.resources import JourneyResource
from pipelines.run_report import collect_run_report, render_markdown
from pipelines.settings import Settings


def order(number: int, **fields) -> str:
    record = {
        "id": 5_000_000 + number,
        "email": f"buyer{number}@shop.example",
        "created_at": "2026-09-30T10:00:00+02:00",
        "updated_at": "2026-09-30T10:00:00+02:00",
        "total_price": "10.00",
    }
    return json.dumps({**record, **fields})


def bad_orders() -> list[str]:
    """Two orders with an unparsable creation time, one without its id."""
    return [
        order(1, created_at="Sept 30th"),
        order(2, created_at="yesterday"),
        json.dumps({"email": "no.id@shop.example", "created_at": "2026-09-30T10:00:00Z",
                    "updated_at": "2026-09-30T10:00:00Z"}),
    ]  # fmt: skip


def land(settings: Settings, run_id: str, records: list[str], day: int = 1) -> None:
    """Lands `records` as shopify/orders exactly as extraction does (validate, write)."""
    page = validate_records(
        stream_spec("shopify", "orders"),
        pl.Series(records, dtype=pl.String),
        run_id=run_id,
        extracted_at=datetime(2026, 10, day, 2, 0, tzinfo=UTC),
    )
    writer = StreamWriter(
        settings.landing_dir,
        settings.quarantine_dir,
        "shopify",
        "orders",
        run_id,
        date(2026, 10, 1),
    )
    writer.add(page)
    writer.flush()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env(
        {
            "JOURNEY_DATA_DIR": str(tmp_path / "data"),
            "JOURNEY_WAREHOUSE_PATH": str(tmp_path / "warehouse" / "journey.duckdb"),
        }
    )


def test_a_night_is_measured_from_the_runs_files(settings):
    land(settings, "run-1", [order(number) for number in range(10, 60)])  # another night
    land(settings, "run-2", [order(number) for number in range(10, 47)] + bad_orders())
    night = measure_night(
        settings.landing_dir, settings.quarantine_dir, "shopify", "orders", "run-2"
    )
    assert (night.landed, night.quarantined) == (37, 3)
    assert night.top_reasons == [
        ("wrong type: created_at should be iso", 2),
        ("missing natural key id", 1),
        ("missing required field id", 1),
    ]
    # values masked, what is wrong readable; no e-mail in clear
    assert sorted(item["reason"] for item in night.sample) == [
        "missing natural key id; missing required field id",
        'wrong type: created_at should be iso, got "Aaaa 99aa"',
        'wrong type: created_at should be iso, got "aaaaaaaaa"',
    ]
    assert all(item["record"].startswith("sha256:") for item in night.sample)
    assert not any("shop.example" in json.dumps(item) for item in night.sample)
    assert any('"email": "aaaaa9@aaaa.aaaaaaa"' in item["fields"] for item in night.sample)


def test_a_record_quarantined_again_by_a_later_run_is_not_judged_again(settings):
    """The lookback window fetches last night's records again: a bad record already
    quarantined (same content) was judged that night and does not block the next one."""
    land(settings, "run-1", [order(number) for number in range(10, 47)] + bad_orders())
    land(settings, "run-2", [order(number) for number in range(10, 47)] + bad_orders()[:2], 2)
    again = measure_night(
        settings.landing_dir, settings.quarantine_dir, "shopify", "orders", "run-2"
    )
    assert (again.landed, again.quarantined, again.top_reasons) == (37, 0, [])
    first = measure_night(
        settings.landing_dir, settings.quarantine_dir, "shopify", "orders", "run-1"
    )
    assert first.quarantined == 3


def test_a_bad_value_reason_is_grouped_by_field_and_class_and_masked():
    assert (
        masked_reason('bad value: total_price should be money (not finite), got "NaN"')
        == 'bad value: total_price should be money (not finite), got "AaA"'
    )


def test_masking_keeps_the_shape_of_a_value():
    assert mask("Ann.Lee@Example.com 2026") == "Aaa.Aaa@Aaaaaaa.aaa 9999"
    assert masked_reason(
        'unparsable timestamp updated_at: "30.9.26"; wrong type: id should be integer, got "x1"'
    ) == ('unparsable timestamp updated_at: "99.9.99"; wrong type: id should be integer, got "a9"')


REASONS = [("wrong type: created_at should be iso", 2), ("missing natural key id", 1)]


def test_a_share_above_the_threshold_fails_with_one_line():
    night = StreamNight(
        "shopify", "orders", 37, 3, REASONS, [{"record": "sha256:ab", "reason": "r"}]
    )
    verdict = judge_night(night, max_share=0.01, previous=None, window_days=4)
    assert not verdict.passed
    assert verdict.message == (
        "quarantine_gate: shopify/orders quarantined 3 of 40 records (7.5 %; at most 1 % may "
        "be): 2× wrong type: created_at should be iso, 1× missing natural key id; "
        "e.g. sha256:ab: r"
    )
    assert "\n" not in verdict.message
    assert verdict.metadata["failed_rows"] == 3 and verdict.metadata["share"] == 0.075
    assert judge_night(night, max_share=0.1, previous=None, window_days=4).passed


def test_everything_quarantined_fails_whatever_the_threshold():
    night = StreamNight("matomo", "visits", 0, 12, [("wrong type: idVisit", 12)])
    verdict = judge_night(night, max_share=1.0, previous=None, window_days=4)
    assert not verdict.passed and "(every record;" in verdict.message


def test_a_stream_that_vanished_fails_and_a_quiet_one_does_not():
    silent = StreamNight("zendesk", "tickets", 0, 0)
    busy = {"landed": 120, "days": 4}
    verdict = judge_night(silent, max_share=0.01, previous=busy, window_days=4)
    assert not verdict.passed
    assert "zendesk/tickets landed nothing" in verdict.message and "≈ 120 due" in verdict.message
    quiet = {"landed": 15, "days": 4}  # fewer than 20 due: nothing is a normal night
    assert judge_night(silent, max_share=0.01, previous=quiet, window_days=4).passed
    assert judge_night(silent, max_share=0.01, previous=None, window_days=4).passed


def test_a_bursty_stream_without_records_is_a_normal_night():
    """A file drop or a campaign-driven stream brings nothing on most nights: never 'vanished'
    (at 100k persons the monthly NPS drop blocked the second night before this)."""
    nothing = StreamNight("filedrop", "nps_responses", 0, 0)
    full_refresh = {"landed": 4734, "days": 637}  # ≈ 30 due in a 4-day window
    assert not judge_night(nothing, max_share=0.01, previous=full_refresh, window_days=4).passed
    verdict = judge_night(
        nothing, max_share=0.01, previous=full_refresh, window_days=4, steady=False
    )
    assert verdict.passed and verdict.metadata["arrival"] == "bursty"
    # bursty streams are still judged on what they quarantine
    bad = StreamNight("filedrop", "nps_responses", 0, 3, top_reasons=[("not a number", 3)])
    assert not judge_night(bad, max_share=0.01, previous=None, window_days=4, steady=False).passed


def test_which_streams_arrive_in_bursts():
    from pipelines.assets.gate import arrival
    from pipelines.extract.registry import all_streams

    bursty = sorted(decl.name for decl in all_streams() if decl.arrival == "bursty")
    drops = [decl.name for decl in all_streams() if decl.source == "filedrop"]
    assert set(drops) <= set(bursty)
    assert sorted(set(bursty) - set(drops)) == [
        "mailchimp/campaigns",
        "mailchimp/email_activity",
        "mailchimp/sent_to",
        "mailchimp/unsubscribes",
    ]
    assert arrival("matomo", "visits") == "steady" and arrival("filedrop", "reviews") == "bursty"
    assert arrival("nowhere", "nothing") == "steady"


# --- as a blocking Dagster check ------------------------------------------------------------


class Night(dg.Config):
    good: int
    bad: bool


def _job(settings: Settings):
    @dg.asset(key=["shopify", "orders"])
    def orders(context: dg.AssetExecutionContext, config: Night, journey: JourneyResource):
        records = [order(number) for number in range(config.good)]
        land(journey.settings(), context.run_id, records + (bad_orders() if config.bad else []))

    @dg.asset(key=["shopify", "customers"])
    def customers():
        return None

    @dg.asset(key=["warehouse", "published"], deps=[orders])
    def published():
        return None

    gate = build_quarantine_gate([orders.key, customers.key])
    definitions = dg.Definitions(
        assets=[orders, customers, published],
        asset_checks=[gate],
        jobs=[  # the orders alone, as when someone materializes one stream in the UI
            dg.define_asset_job(
                "nightly",
                selection=dg.AssetSelection.assets(orders, published),
                executor_def=dg.in_process_executor,
            )
        ],
        resources={
            "journey": JourneyResource(
                data_dir=str(settings.data_dir), warehouse_path=str(settings.warehouse_path)
            )
        },
    )
    return definitions.resolve_job_def("nightly")


def _night(job, instance, good: int, bad: bool):
    config = {"ops": {"shopify__orders": {"config": {"good": good, "bad": bad}}}}
    return job.execute_in_process(run_config=config, instance=instance, raise_on_error=False)


def test_the_gate_blocks_the_publish_and_the_report_says_why(settings, tmp_path):
    job, instance = _job(settings), dg.DagsterInstance.ephemeral()
    passed = _night(job, instance, good=400, bad=True)  # 3 of 403: 0.74 %
    assert passed.success
    assert [e.asset_key.path for e in passed.get_asset_check_evaluations()] == [
        ["shopify", "orders"]
    ]
    state = json.loads((settings.state_dir / STATE_FILE_NAME).read_text())
    assert state["shopify/orders"]["landed"] == 400

    blocked = _night(job, instance, good=37, bad=True)  # 3 of 40: 7.5 %
    assert not blocked.success
    assert "warehouse__published" not in {e.step_key for e in blocked.get_step_success_events()}
    report = collect_run_report(instance, blocked.run_id)
    assert report["published"] is False
    assert report["publish"]["reason"] == (
        "quarantine_gate: shopify/orders quarantined 3 of 40 records (7.5 %; at most 1 % may "
        "be): 2× wrong type: created_at should be iso, 1× missing natural key id, "
        "1× missing required field id; e.g. "
        + report["checks"]["failures"][0]["metadata"]["sample"][0]["record"]
        + ": "
        + report["checks"]["failures"][0]["metadata"]["sample"][0]["reason"]
        + "; the previous warehouse stays live"
    )
    markdown = render_markdown(report)
    [line] = [line for line in markdown.splitlines() if line.startswith("- why not published")]
    assert "shopify/orders quarantined 3 of 40" in line
    # the state keeps the last night that passed
    assert json.loads((settings.state_dir / STATE_FILE_NAME).read_text()) == state

    vanished = _night(job, instance, good=0, bad=False)
    assert not vanished.success
    assert (
        "shopify/orders landed nothing"
        in collect_run_report(instance, vanished.run_id)["publish"]["reason"]
    )


def test_every_landing_stream_has_a_blocking_gate():
    from pipelines.extract.streams import STREAMS

    keys = [dg.AssetKey([source, stream]) for source, stream in STREAMS]
    [gate] = [build_quarantine_gate(keys)]
    specs = list(gate.check_specs)
    assert {spec.asset_key for spec in specs} == set(keys)
    assert {(spec.name, spec.blocking) for spec in specs} == {("quarantine_gate", True)}


def test_the_threshold_is_a_setting():
    assert Settings.from_env({}).quarantine_max_share == 0.01
    assert Settings.from_env({"JOURNEY_QUARANTINE_MAX_SHARE": "5%"}).quarantine_max_share == 0.05
    assert Settings.from_env({"JOURNEY_QUARANTINE_MAX_SHARE": "0.2"}).quarantine_max_share == 0.2
    from pipelines.settings import SettingsError

    with pytest.raises(SettingsError, match="JOURNEY_QUARANTINE_MAX_SHARE"):
        Settings.from_env({"JOURNEY_QUARANTINE_MAX_SHARE": "150%"})
