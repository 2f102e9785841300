"""Sandboxed Mailchimp Marketing API 3.0: members, reports and per-campaign reports."""

from __future__ import annotations

import re

from devkit.sandbox.api import (
    BadRequest,
    PageMode,
    Reply,
    Request,
    VendorApi,
    basic_credentials,
    integer,
    json_reply,
    parse_time,
)
from devkit.sandbox.store import VendorStore, join_records, page_rows, since

MAX_COUNT = 1000
_MEMBERS = re.compile(r"^/3\.0/lists/([^/]+)/members/?$")
_LIST = re.compile(r"^/3\.0/lists/([^/]+)/?$")
_REPORTS = re.compile(r"^/3\.0/reports/?$")
_REPORT = re.compile(r"^/3\.0/reports/([^/]+)/(sent-to|email-activity|unsubscribed)/?$")
_REPORT_STREAMS = {
    "sent-to": ("sent_to", "sent_to"),
    "email-activity": ("email_activity", "emails"),
    "unsubscribed": ("unsubscribes", "unsubscribes"),
}


class MailchimpApi(VendorApi):
    source = "mailchimp"

    def __init__(self, store: VendorStore, api_key: str, list_id: str) -> None:
        super().__init__(store)
        self.api_key = api_key
        self.list_id = list_id

    def route(self, request: Request) -> str | None:
        if _MEMBERS.match(request.path):
            return "members"
        if _LIST.match(request.path):
            return "list"
        if _REPORTS.match(request.path):
            return "campaigns"
        match = _REPORT.match(request.path)
        return _REPORT_STREAMS[match.group(2)][0] if match else None

    def authorized(self, request: Request) -> bool:
        credentials = basic_credentials(request.headers)
        return credentials is not None and credentials[1] == self.api_key

    def auth_failure(self) -> Reply:
        return self._problem(
            401,
            "API Key Invalid",
            "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
        )

    def failure(self, status: int, message: str) -> Reply:
        titles = {429: "Too Many Requests", 500: "Internal Server Error", 400: "Invalid Resource"}
        return self._problem(status, titles.get(status, "Error"), message)

    def _problem(self, status: int, title: str, detail: str) -> Reply:
        return json_reply(
            status,
            {
                "type": "https://mailchimp.com/developer/marketing/docs/errors/",
                "title": title,
                "status": status,
                "detail": detail,
                "instance": "sandbox",
            },
        )

    def serve(self, request: Request, stream: str, mode: PageMode, duplicates: int) -> Reply:
        params = request.params
        if stream == "list":  # GET /lists/{list_id}: the audience itself
            list_id = _LIST.match(request.path).group(1)  # type: ignore[union-attr]
            if list_id != self.list_id:
                return self._problem(
                    404, "Resource Not Found", "The requested resource could not be found."
                )
            members = self.store.served(self.source, "members").height
            return json_reply(
                200,
                {
                    "id": self.list_id,
                    "name": "Sandbox newsletter",
                    "stats": {"member_count": members},
                },
            )
        count = integer(params, "count", 10, MAX_COUNT)
        offset = integer(params, "offset", 0)
        envelope: dict[str, str] = {}
        if stream == "members":
            list_id = _MEMBERS.match(request.path).group(1)  # type: ignore[union-attr]
            if list_id != self.list_id:
                return self._problem(
                    404, "Resource Not Found", "The requested resource could not be found."
                )
            rows = self.store.served(self.source, stream)
            lower = params.get("since_last_changed")
            upper = params.get("before_last_changed")
            rows = since(
                rows,
                parse_time(lower, "since_last_changed") if lower else None,
                inclusive=False,
                upper=parse_time(upper, "before_last_changed") if upper else None,
                upper_inclusive=False,
            )
            key, envelope = "members", {"list_id": self.list_id}
        elif stream == "campaigns":
            rows, key = self.store.served(self.source, stream), "reports"
        else:
            match = _REPORT.match(request.path)
            assert match is not None
            campaign_id = match.group(1)
            campaigns = self.store.served(self.source, "campaigns").get_column("record_id")
            if campaign_id not in campaigns.to_list():
                return self._problem(
                    404, "Resource Not Found", "The requested resource could not be found."
                )
            rows = self.store.children(self.source, stream, campaign_id)
            if stream == "email_activity" and params.get("since"):
                rows = since(rows, parse_time(params["since"], "since"), inclusive=False)
            key = _REPORT_STREAMS[match.group(2)][1]
            envelope = {"campaign_id": campaign_id}
        if count < 1 or offset < 0:
            raise BadRequest("count must be >= 1 and offset >= 0")
        page = page_rows(rows, offset, count, duplicates)
        if mode == "empty":
            page = page.clear()
        extra = "".join(f',"{name}":"{value}"' for name, value in envelope.items())
        body = f'{{"{key}":[{join_records(page)}]{extra},"total_items":{rows.height},"_links":[]}}'
        return Reply(200, body, records=page.height)
