"""Landing a demo dataset's night without HTTP, as the nightly job's extraction would land it.

    .venv/bin/python -m bench.direct_landing --dataset D --data-dir W/data --run-id night-2 \
        --as-of 2026-09-30T23:59:59+00:00 --earlier night-1 [--window-days 30]

For sizes whose sandbox does not fit in memory (1M persons: the sandbox holds every version of
every stream, > 12 GB), `bench.nightly_bench --land direct` lands each night with this module
and runs the job with no vendor configured (the vendor streams are skipped; the rest of the
job runs on the landed batches). What it lands, per night:

* the versions the vendors serve at `--as-of` (`devkit.vendor_dataset.land_vendor_dataset`,
  the sandbox's own rule), then, after a first night (`--earlier`), only what cursor-based
  extraction would deliver: versions no earlier night landed (record id and content hash) —
  except Mailchimp's recipients, activity and unsubscribes of the campaigns the job asks again
  (`pipelines.extract.mailchimp.windowed_campaigns`: sent within `--window-days` before the
  night, every automation), which are landed again whole, as the job re-pulls them;
* then the job's landing compaction of those streams (`pipelines.extract.compaction`).

Left out, against a run over HTTP: the HTTP and JSON paging cost of extraction, and the
landing checks and quarantine gate of the vendor streams (skipped streams are not checked).
Prints one JSON line: records landed per stream after the filtering.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from devkit.vendor_dataset import keep_only_new_versions, land_vendor_dataset
from pipelines.extract.compaction import COMPACTED, compact_stream, landed_files
from pipelines.extract.mailchimp import windowed_campaigns

# the streams the job asks again for every campaign of the window are the ones it compacts
REPULLED = set(COMPACTED)


def _windowed_campaign_ids(landing: Path, since: datetime) -> pl.Series:
    """The ids of the landed campaigns the job asks again for reports on a night after `since`."""
    record = pl.col("record")
    campaigns = (
        pl.scan_parquet(landed_files(landing, "mailchimp", "campaigns"))
        .select(
            record.str.json_path_match("$.id").alias("id"),
            record.str.json_path_match("$.type").alias("type"),
            record.str.json_path_match("$.send_time").alias("send_time"),
        )
        .unique()
        .collect()
    )
    return windowed_campaigns(campaigns, since).get_column("id").unique()


def _asked_again(campaign_ids: pl.Series):
    """The filter of the rows of the Mailchimp report streams the job pulls again."""
    campaign = pl.col("record_id").str.split(":").list.first()

    def again(source: str, stream: str) -> pl.Expr | None:
        if (source, stream) not in REPULLED:
            return None
        return campaign.is_in(campaign_ids.implode())

    return again


def land_night(
    dataset: Path,
    data_dir: Path,
    run_id: str,
    as_of: datetime | None,
    earlier: list[str],
    window_days: int,
) -> dict[str, int]:
    landing, quarantine = data_dir / "landing", data_dir / "quarantine"
    summary = land_vendor_dataset(dataset, landing, quarantine, run_id, as_of=as_of)
    if earlier:
        night_start = datetime.combine(
            summary["as_of"].date(), datetime.min.time(), tzinfo=summary["as_of"].tzinfo
        )
        campaigns = _windowed_campaign_ids(landing, night_start - timedelta(days=window_days))
        kept = keep_only_new_versions(landing, earlier, run_id, asked_again=_asked_again(campaigns))
    else:
        kept = {name: item["records"] for name, item in summary["streams"].items()}
    for (source, stream), mode in COMPACTED.items():
        compact_stream(landing, source, stream, mode)
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.direct_landing", description=__doc__)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True, help="JOURNEY_DATA_DIR")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--as-of", type=datetime.fromisoformat, help="default: the dataset's end")
    parser.add_argument("--earlier", nargs="*", default=[], help="run ids landed before")
    parser.add_argument("--window-days", type=int, default=30)
    args = parser.parse_args(argv)
    kept = land_night(
        args.dataset, args.data_dir, args.run_id, args.as_of, args.earlier, args.window_days
    )
    print(json.dumps(kept))
    return 0


if __name__ == "__main__":
    sys.exit(main())
