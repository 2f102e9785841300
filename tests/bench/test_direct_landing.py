"""`bench.direct_landing`: a night landed without HTTP holds what extraction would deliver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from bench.direct_landing import land_night
from devkit.demo.generator import generate
from devkit.vendor_dataset import dataset_end, land_vendor_dataset

WINDOW_DAYS = 30


def _landed(landing: Path, source: str, stream: str, run_id: str) -> pl.DataFrame:
    files = sorted((landing / source / stream).glob(f"**/{run_id}-*.parquet"))
    frame = pl.concat([pl.read_parquet(f) for f in files]) if files else None
    if frame is None:
        return pl.DataFrame(schema={"record_id": pl.String, "_record_hash": pl.String})
    return frame.select("record_id", "_record_hash")


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("direct")
    dataset = root / "dataset"
    generate(dataset, persons=400, seed=11)
    end = dataset_end(dataset)
    first_as_of = datetime.combine(end.date(), datetime.min.time(), tzinfo=UTC)
    data = root / "data"
    kept_first = land_night(dataset, data, "n1", first_as_of, [], WINDOW_DAYS)
    kept_second = land_night(dataset, data, "n2", None, ["n1"], WINDOW_DAYS)
    # what the vendors serve at the dataset's end, landed whole elsewhere: the reference
    land_vendor_dataset(dataset, root / "all" / "landing", root / "all" / "quarantine", "all")
    return {
        "dataset": dataset,
        "landing": data / "landing",
        "all": root / "all" / "landing",
        "night_start": first_as_of,
        "kept": (kept_first, kept_second),
    }


def test_a_cursor_stream_lands_only_the_versions_the_first_night_had_not(nights):
    landing = nights["landing"]
    served = _landed(nights["all"], "matomo", "visits", "all")
    first = _landed(landing, "matomo", "visits", "n1")
    second = _landed(landing, "matomo", "visits", "n2")
    expected = served.join(first, on=["record_id", "_record_hash"], how="anti")
    assert second.height > 0 and first.height > 0
    assert second.sort(pl.all()).equals(expected.sort(pl.all()))
    assert nights["kept"][1]["matomo/visits"] == expected.height


def test_the_mailchimp_window_is_landed_again_and_compacted(nights):
    landing = nights["landing"]
    campaigns = pl.read_parquet(nights["dataset"] / "vendor" / "mailchimp" / "campaigns.parquet")
    record = pl.col("record")
    window = (
        campaigns.select(
            record.str.json_path_match("$.id").alias("campaign"),
            record.str.json_path_match("$.type").alias("type"),
            record.str.json_path_match("$.send_time")
            .str.to_datetime(time_zone="UTC", strict=False)
            .alias("sent_at"),
        )
        .filter(
            (pl.col("sent_at") >= nights["night_start"] - timedelta(days=WINDOW_DAYS))
            | pl.col("sent_at").is_null()
            | (pl.col("type") == "automation")
        )
        .get_column("campaign")
        .unique()
    )
    served = _landed(nights["all"], "mailchimp", "sent_to", "all")
    first = _landed(landing, "mailchimp", "sent_to", "n1")
    second = _landed(landing, "mailchimp", "sent_to", "n2")
    campaign = pl.col("record_id").str.split(":").list.first()
    in_window = campaign.is_in(window.implode())
    expected = pl.concat(
        [
            served.filter(in_window),
            served.filter(~in_window).join(first, on=["record_id", "_record_hash"], how="anti"),
        ]
    )
    assert served.filter(in_window).height > 0  # the window holds recipients to pull again
    assert second.sort(pl.all()).equals(expected.sort(pl.all()))
    # compaction: a recipient pulled again unchanged keeps one row in landing, not two
    both = pl.concat([first, second])
    assert both.get_column("record_id").n_unique() == both.height
    assert set(both.get_column("record_id")) == set(served.get_column("record_id"))
