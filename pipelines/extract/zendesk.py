"""Zendesk Support (docs/contracts.md §1.4).

Tickets (with their metric sets side-loaded: `include=metric_sets`, landed as stream
`ticket_metrics`) and users come from the cursor-based incremental exports: `start_time` first,
then `cursor=<after_cursor>` until `end_of_stream`. Satisfaction ratings use cursor pagination:
`page[size]`, then `links.next` while `meta.has_more`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipelines.extract.connector import EmptyPageGuard, ExtractionWindow, Page
from pipelines.extract.duck import split_json_array
from pipelines.extract.errors import PaginationError, VendorRequestError
from pipelines.extract.http import HttpClient, JsonResponse
from pipelines.settings import HttpSettings, ZendeskSettings

EXPORT_PAGE_SIZE = 1000
RATINGS_PAGE_SIZE = 100


class ZendeskConnector:
    source = "zendesk"
    groups = (("tickets", "ticket_metrics"), ("users",), ("satisfaction_ratings",))

    def __init__(
        self, settings: ZendeskSettings, http: HttpSettings, page_size: int | None = None
    ) -> None:
        self.settings = settings
        self.page_size = page_size
        self.client = HttpClient(
            "zendesk",
            http,
            credential_hint="ZENDESK_EMAIL and ZENDESK_API_TOKEN (an API token of an agent "
            "or admin; basic auth as '{email}/token') and ZENDESK_BASE_URL",
            secrets=[settings.api_token],
            auth=settings.basic_auth,
        )

    def close(self) -> None:
        self.client.close()

    def pages(self, group: tuple[str, ...], window: ExtractionWindow) -> Iterator[Page]:
        start_time = int(window.start.timestamp())
        if group[0] == "tickets":
            yield from self._export("tickets", {"include": "metric_sets"}, start_time)
        elif group[0] == "users":
            yield from self._export("users", {}, start_time)
        else:
            yield from self._ratings(start_time)

    def _export(self, resource: str, extra: dict[str, Any], start_time: int) -> Iterator[Page]:
        url = f"{self.settings.base_url}/api/v2/incremental/{resource}/cursor.json"
        sizing = {"per_page": min(self.page_size, EXPORT_PAGE_SIZE)} if self.page_size else {}
        params: dict[str, Any] = {"start_time": start_time, **extra, **sizing}
        guard = EmptyPageGuard(self.client, resource)
        while True:
            response = self.client.get(url, stream=resource, params=params)
            data, items = self._records(response, resource)
            records = {resource: split_json_array(response.text, f"$.{resource}")}
            if resource == "tickets":
                records["ticket_metrics"] = split_json_array(response.text, "$.metric_sets")
            if items:
                yield Page(records, response.received_at)
            if data.get("end_of_stream") is True:
                return
            cursor = data.get("after_cursor")
            if not cursor:
                raise PaginationError(
                    f"zendesk/{resource}: {response.path} returned neither end_of_stream nor "
                    f"an after_cursor; cannot continue the export safely",
                    source=self.source,
                    stream=resource,
                )
            guard.stalled(not items and cursor == params.get("cursor"), f"cursor {cursor}")
            params = {"cursor": cursor, **extra, **sizing}

    def _ratings(self, start_time: int) -> Iterator[Page]:
        stream = "satisfaction_ratings"
        url: str = f"{self.settings.base_url}/api/v2/satisfaction_ratings"
        size = min(self.page_size or RATINGS_PAGE_SIZE, RATINGS_PAGE_SIZE)
        params: dict[str, Any] | None = {"start_time": start_time, "page[size]": size}
        guard = EmptyPageGuard(self.client, stream)
        while True:
            response = self.client.get(url, stream=stream, params=params)
            data, items = self._records(response, stream)
            if items:
                yield Page(
                    {stream: split_json_array(response.text, f"$.{stream}")},
                    response.received_at,
                )
            meta, links = data.get("meta") or {}, data.get("links") or {}
            if not meta.get("has_more"):
                return
            following = links.get("next")
            if not following:
                raise PaginationError(
                    f"zendesk/{stream}: {response.path} says has_more but gives no links.next",
                    source=self.source,
                    stream=stream,
                )
            guard.stalled(not items and following == url, following)
            url, params = following, None

    def _records(self, response: JsonResponse, stream: str) -> tuple[dict, list]:
        """The response object and its list of `stream` records."""
        data = response.data
        items = data.get(stream) if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise VendorRequestError(
                f"zendesk/{stream}: {response.path} answered without a '{stream}' list; check "
                f"ZENDESK_BASE_URL is https://<subdomain>.zendesk.com",
                source=self.source,
                stream=stream,
            )
        return data, items
