"""Sandboxed Matomo: `Live.getLastVisitsDetails` with `period=range` (contracts §1.1), and
`SitesManager.getSiteFromId` (what `check-connections` asks).

Errors as Matomo 4/5 words them (HTTP 200, `{"result": "error", "message": …}`): a token it
does not know is "Unable to authenticate with the provided token. It is either invalid or
expired."; a known token whose user cannot view the site asked for is "You can't access this
resource as it requires 'view' access for the website id = N.".
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from devkit.sandbox.api import (
    BadRequest,
    PageMode,
    Reply,
    Request,
    VendorApi,
    integer,
    json_reply,
)
from devkit.sandbox.store import VendorStore, join_records, page_rows, since

# Reporting API method → the stream (or check) it reads
METHODS = {"Live.getLastVisitsDetails": "visits", "SitesManager.getSiteFromId": "site"}


class MatomoApi(VendorApi):
    source = "matomo"

    def __init__(self, store: VendorStore, token: str, site_id: str) -> None:
        super().__init__(store)
        self.token = token
        self.site_id = site_id

    def route(self, request: Request) -> str | None:
        params = request.params
        if request.path != "/index.php" or params.get("module") != "API":
            return None
        return METHODS.get(params.get("method", ""))

    def authorized(self, request: Request) -> bool:
        return request.params.get("token_auth") == self.token

    def auth_failure(self) -> Reply:
        return self.failure(
            200, "Unable to authenticate with the provided token. It is either invalid or expired."
        )

    def _no_view_access(self, site: str) -> Reply:
        return self.failure(
            200,
            f"You can't access this resource as it requires 'view' access for the website id = {site}.",
        )

    def failure(self, status: int, message: str) -> Reply:
        return json_reply(status, {"result": "error", "message": message})

    def serve(self, request: Request, stream: str, mode: PageMode, duplicates: int) -> Reply:
        params = request.params
        if params.get("idSite") != self.site_id:
            return self._no_view_access(params.get("idSite", ""))
        if stream == "site":
            return json_reply(
                200,
                {
                    "idsite": self.site_id,
                    "name": "Sandbox shop",
                    "main_url": "https://shop.example.com",
                    "timezone": "UTC",
                    "currency": "EUR",
                },
            )
        if params.get("period") != "range" or params.get("format", "").upper() != "JSON":
            raise BadRequest("the sandbox serves period=range&format=JSON only")
        first, last = _date_range(params.get("date", ""))
        rows = since(
            self.store.served(self.source, stream),
            datetime.combine(first, time(0), tzinfo=UTC),
            inclusive=True,
            upper=datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC),
            upper_inclusive=False,
        )
        if params.get("filter_sort_order", "desc") != "asc":
            rows = rows.reverse()
        limit = integer(params, "filter_limit", 100)
        offset = integer(params, "filter_offset", 0)
        page = page_rows(rows, offset, limit if limit >= 0 else rows.height, duplicates)
        if mode == "empty":
            page = page.clear()
        return Reply(200, "[" + join_records(page) + "]", records=page.height)


def _date_range(text: str) -> tuple[date, date]:
    try:
        first, last = (date.fromisoformat(part) for part in text.split(","))
    except ValueError as error:
        raise BadRequest(
            f"date must be 'YYYY-MM-DD,YYYY-MM-DD' for period=range, got {text!r}"
        ) from error
    return first, last
