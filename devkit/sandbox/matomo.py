"""Sandboxed Matomo: `Live.getLastVisitsDetails` with `period=range` (contracts §1.1)."""

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


class MatomoApi(VendorApi):
    source = "matomo"

    def __init__(self, store: VendorStore, token: str, site_id: str) -> None:
        super().__init__(store)
        self.token = token
        self.site_id = site_id

    def route(self, request: Request) -> str | None:
        params = request.params
        if (
            request.path == "/index.php"
            and params.get("module") == "API"
            and params.get("method") == "Live.getLastVisitsDetails"
        ):
            return "visits"
        return None

    def authorized(self, request: Request) -> bool:
        return (
            request.params.get("token_auth") == self.token
            and request.params.get("idSite") == self.site_id
        )

    def auth_failure(self) -> Reply:
        return json_reply(
            200,
            {
                "result": "error",
                "message": "You can't access this resource as it requires 'view' access "
                f"for the website id = {self.site_id}.",
            },
        )

    def failure(self, status: int, message: str) -> Reply:
        return json_reply(status, {"result": "error", "message": message})

    def serve(self, request: Request, stream: str, mode: PageMode, duplicates: int) -> Reply:
        params = request.params
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
