"""Shopify Admin REST (docs/contracts.md §1.3): cursor pagination by `Link` header.

The first request carries the filters (`limit`, `updated_at_min`, `updated_at_max`, and
`status=any` for orders); every further page is the `rel="next"` URL exactly as given (it
carries only `limit` and `page_info`). The shared client watches
`X-Shopify-Shop-Api-Call-Limit` and slows down before the bucket overflows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipelines.extract.connector import EmptyPageGuard, ExtractionWindow, Page, iso_utc
from pipelines.extract.duck import split_json_array
from pipelines.extract.errors import VendorRequestError
from pipelines.extract.http import HttpClient
from pipelines.settings import HttpSettings, ShopifySettings

MAX_LIMIT = 250


class ShopifyConnector:
    source = "shopify"
    groups = (("orders",), ("customers",), ("checkouts",))

    def __init__(
        self, settings: ShopifySettings, http: HttpSettings, page_size: int | None = None
    ) -> None:
        self.settings = settings
        self.limit = min(page_size or MAX_LIMIT, MAX_LIMIT)
        self.client = HttpClient(
            "shopify",
            http,
            credential_hint="SHOPIFY_ACCESS_TOKEN (an Admin API token with read access to "
            "orders, customers and checkouts) and SHOPIFY_BASE_URL",
            secrets=[settings.access_token],
            headers={"X-Shopify-Access-Token": settings.access_token.reveal()},
        )

    def close(self) -> None:
        self.client.close()

    def pages(self, group: tuple[str, ...], window: ExtractionWindow) -> Iterator[Page]:
        (stream,) = group
        url: str | None = f"{self.settings.base_url}/api/{self.settings.api_version}/{stream}.json"
        params: dict[str, Any] | None = {
            "limit": self.limit,
            "updated_at_min": iso_utc(window.start),
            "updated_at_max": iso_utc(window.end),
        }
        if stream == "orders":
            params["status"] = "any"
        guard = EmptyPageGuard(self.client, stream)
        while url:
            response = self.client.get(url, stream=stream, params=params)
            items = response.data.get(stream) if isinstance(response.data, dict) else None
            if not isinstance(items, list):
                raise VendorRequestError(
                    f"shopify/{stream}: {response.path} answered without a '{stream}' list; "
                    f"check SHOPIFY_BASE_URL ends in /admin and SHOPIFY_API_VERSION",
                    source=self.source,
                    stream=stream,
                )
            following = response.link("next")
            if guard.stalled(not items and following is not None, response.path):
                url, params = following, None
                continue
            if items:
                yield Page(
                    {stream: split_json_array(response.text, f"$.{stream}")},
                    response.received_at,
                )
            url, params = following, None
