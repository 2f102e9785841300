"""Matomo: `Live.getLastVisitsDetails` over the window's dates (docs/contracts.md §1.1).

POST `{base}/index.php?module=API&method=Live.getLastVisitsDetails&idSite=…&period=range&
date=FIRST,LAST&format=JSON&filter_limit=N&filter_offset=K&filter_sort_order=asc` with
`token_auth` in the form body. Pages until one is shorter than `filter_limit` (an empty array
past the last page). Errors come as `{"result": "error", "message": …}`, even with HTTP 200.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from pipelines.extract.connector import ExtractionWindow, Page
from pipelines.extract.duck import split_json_array
from pipelines.extract.errors import VendorRequestError
from pipelines.extract.http import HttpClient
from pipelines.settings import HttpSettings, MatomoSettings

PAGE_SIZE = 1000


def matomo_body_check(data: Any) -> tuple[str, str] | None:
    if isinstance(data, dict) and data.get("result") == "error":
        message = str(data.get("message", ""))
        lowered = message.lower()
        # Matomo 4/5: "Unable to authenticate with the provided token…" (unknown token) and
        # "You can't access this resource as it requires 'view' access…" (no access to the site)
        auth_words = ("token_auth", "access", "authenticate")
        kind = "auth" if any(word in lowered for word in auth_words) else "error"
        return kind, message
    return None


class MatomoConnector:
    source = "matomo"
    groups = (("visits",),)

    def __init__(
        self, settings: MatomoSettings, http: HttpSettings, page_size: int | None = None
    ) -> None:
        self.settings = settings
        self.page_size = page_size or PAGE_SIZE
        self.client = HttpClient(
            "matomo",
            http,
            credential_hint="MATOMO_TOKEN (it needs view access to MATOMO_SITE_ID) and "
            "MATOMO_BASE_URL",
            secrets=[settings.token],
            body_check=matomo_body_check,
        )

    def close(self) -> None:
        self.client.close()

    def pages(self, group: tuple[str, ...], window: ExtractionWindow) -> Iterator[Page]:
        first_day = window.start.date()
        last_day = (window.end - timedelta(microseconds=1)).date()
        offset = 0
        while True:
            response = self.client.post(
                f"{self.settings.base_url}/index.php",
                stream="visits",
                params={
                    "module": "API",
                    "method": "Live.getLastVisitsDetails",
                    "idSite": self.settings.site_id,
                    "period": "range",
                    "date": f"{first_day:%Y-%m-%d},{last_day:%Y-%m-%d}",
                    "format": "JSON",
                    "filter_limit": self.page_size,
                    "filter_offset": offset,
                    "filter_sort_order": "asc",
                },
                data={"token_auth": self.settings.token.reveal()},
            )
            if not isinstance(response.data, list):
                raise VendorRequestError(
                    f"matomo/visits: {response.path} answered with a JSON "
                    f"{type(response.data).__name__}, not the array of visits; check "
                    f"MATOMO_BASE_URL points at the Matomo root",
                    source=self.source,
                    stream="visits",
                )
            if response.data:
                yield Page({"visits": split_json_array(response.text)}, response.received_at)
            if len(response.data) < self.page_size:
                return
            offset += self.page_size
