"""Mailchimp Marketing API 3.0 (docs/contracts.md §1.2): offset paging with `count`/`offset`.

Members come incrementally (`since_last_changed`); campaign reports in full; the per-campaign
report streams (sent-to, email activity with `since`, unsubscribed) for the campaigns of the
window: on a full refresh every campaign the reports list, otherwise the campaigns sent within
`window_days` before the window starts, and every automation (an automation keeps sending, and
Mailchimp filters neither sent-to nor unsubscribed by time). Older campaigns are not asked
again: their recipients, activity and unsubscribes are already landed, and the runner compacts
what is asked again (`compaction.py`), so landing grows with new data, not with nights.
Pages continue until `offset` reaches `total_items`; an empty page before that is asked for
again (bounded), never taken as the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from pipelines.extract.connector import EmptyPageGuard, ExtractionWindow, Page, iso_utc
from pipelines.extract.duck import split_json_array
from pipelines.extract.errors import VendorRequestError
from pipelines.extract.http import HttpClient
from pipelines.settings import HttpSettings, MailchimpSettings

MAX_COUNT = 1000

# stream → (path under /reports/{campaign_id}, key of the records, incremental parameter)
REPORT_STREAMS = {
    "sent_to": ("sent-to", "sent_to", None),
    "email_activity": ("email-activity", "emails", "since"),
    "unsubscribes": ("unsubscribed", "unsubscribes", None),
}


class MailchimpConnector:
    source = "mailchimp"
    groups = (("members",), ("campaigns",), ("sent_to",), ("email_activity",), ("unsubscribes",))

    def __init__(
        self, settings: MailchimpSettings, http: HttpSettings, page_size: int | None = None
    ) -> None:
        self.settings = settings
        self.count = min(page_size or MAX_COUNT, MAX_COUNT)
        self.client = HttpClient(
            "mailchimp",
            http,
            credential_hint="MAILCHIMP_API_KEY (and MAILCHIMP_BASE_URL: its data centre must "
            "match the key's suffix) and MAILCHIMP_LIST_ID",
            secrets=[settings.api_key],
            auth=settings.basic_auth,
        )
        self._campaigns: pl.DataFrame | None = None

    def close(self) -> None:
        self.client.close()

    def pages(self, group: tuple[str, ...], window: ExtractionWindow) -> Iterator[Page]:
        (stream,) = group
        base = self.settings.base_url
        if stream == "members":
            yield from self._offset_pages(
                stream,
                f"{base}/lists/{self.settings.list_id}/members",
                "members",
                {"since_last_changed": iso_utc(window.start)},
            )
        elif stream == "campaigns":
            campaigns: list[pl.DataFrame] = []
            for page in self._offset_pages(stream, f"{base}/reports", "reports", {}):
                campaigns.append(campaign_keys(page.records[stream]))
                yield page
            self._campaigns = pl.concat([CAMPAIGN_KEYS.to_frame(), *campaigns])
        else:
            path, key, since = REPORT_STREAMS[stream]
            params = {since: iso_utc(window.start)} if since else {}
            for campaign_id in self.campaign_ids(window):
                yield from self._offset_pages(
                    stream, f"{base}/reports/{campaign_id}/{path}", key, params
                )

    def campaign_ids(self, window: ExtractionWindow) -> list[str]:
        """The campaigns whose reports the window asks for (the reports list is fetched once
        per connector): all on a full refresh, else those of `windowed_campaigns`."""
        if self._campaigns is None:
            for _ in self.pages(("campaigns",), window):
                pass
        assert self._campaigns is not None
        if window.full_refresh:
            return _unique_ids(self._campaigns)
        sent_since = window.start - timedelta(days=self.settings.window_days)
        return _unique_ids(windowed_campaigns(self._campaigns, sent_since))

    def _offset_pages(
        self, stream: str, url: str, key: str, params: dict[str, Any]
    ) -> Iterator[Page]:
        offset = 0
        guard = EmptyPageGuard(self.client, stream)
        while True:
            response = self.client.get(
                url, stream=stream, params={**params, "count": self.count, "offset": offset}
            )
            items, total = self._envelope(response.data, key, stream, response.path)
            if guard.stalled(not items and offset < total, f"{response.path} offset {offset}"):
                continue
            if items:
                yield Page(
                    {stream: split_json_array(response.text, f"$.{key}")}, response.received_at
                )
            offset += self.count
            if not items or offset >= total:
                return

    def _envelope(self, data: Any, key: str, stream: str, path: str) -> tuple[list, int]:
        items = data.get(key) if isinstance(data, dict) else None
        total = data.get("total_items") if isinstance(data, dict) else None
        if not isinstance(items, list) or not isinstance(total, int):
            raise VendorRequestError(
                f"mailchimp/{stream}: {path} answered without a '{key}' list and "
                f"'total_items'; check MAILCHIMP_BASE_URL ends in /3.0",
                source=self.source,
                stream=stream,
            )
        return items, total


CAMPAIGN_KEYS = pl.Schema({"id": pl.String, "type": pl.String, "send_time": pl.String})


def campaign_keys(records: pl.Series) -> pl.DataFrame:
    """Id, type and send time of each campaign report (record texts)."""
    return pl.DataFrame(
        {name: records.str.json_path_match(f"$.{name}") for name in CAMPAIGN_KEYS}
    ).cast(CAMPAIGN_KEYS)


def windowed_campaigns(campaigns: pl.DataFrame, sent_since: datetime) -> pl.DataFrame:
    """The campaigns sent at or after `sent_since`, every automation, and every campaign whose
    send time is absent or unreadable (never skipped on a guess)."""
    sent_at = pl.col("send_time").str.to_datetime(time_zone="UTC", strict=False)
    return campaigns.filter(
        (sent_at >= sent_since) | sent_at.is_null() | (pl.col("type") == "automation")
    )


def _unique_ids(campaigns: pl.DataFrame) -> list[str]:
    return campaigns.get_column("id").drop_nulls().unique(maintain_order=True).to_list()
