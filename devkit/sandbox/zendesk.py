"""Sandboxed Zendesk Support: cursor-based incremental exports and satisfaction ratings, and
`/api/v2/users/me.json` (what `check-connections` asks).

Deleted tickets stay in the ticket export with status `deleted`, as Zendesk serves them unless
the request says `exclude_deleted=true` (kept in the cursor); their metric sets are gone, so
none is side-loaded for them. The incremental exports are for admins only, as Zendesk's are:
with `role="agent"` they are refused with 403.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import polars as pl

from devkit.sandbox.api import (
    BadRequest,
    PageMode,
    Reply,
    Request,
    VendorApi,
    basic_credentials,
    decode_token,
    encode_token,
    integer,
    json_reply,
)
from devkit.sandbox.store import VendorStore, join_records, keyset_page, since
from devkit.vendor_dataset import parents_with_children

EXPORT_MAX = 1000
RATINGS_MAX = 100
_PATHS = {
    "/api/v2/incremental/tickets/cursor.json": "tickets",
    "/api/v2/incremental/users/cursor.json": "users",
    "/api/v2/satisfaction_ratings": "satisfaction_ratings",
    "/api/v2/satisfaction_ratings.json": "satisfaction_ratings",
    "/api/v2/users/me.json": "me",
}
ADMIN_ONLY = {"tickets", "users"}


class ZendeskApi(VendorApi):
    source = "zendesk"

    def __init__(self, store: VendorStore, email: str, api_token: str, role: str = "admin") -> None:
        super().__init__(store)
        self.email = email
        self.user = f"{email}/token"
        self.api_token = api_token
        self.role = role

    def route(self, request: Request) -> str | None:
        return _PATHS.get(request.path)

    def authorized(self, request: Request) -> bool:
        return basic_credentials(request.headers) == (self.user, self.api_token)

    def auth_failure(self) -> Reply:
        return json_reply(401, {"error": "Couldn't authenticate you"})

    def failure(self, status: int, message: str) -> Reply:
        return json_reply(status, {"error": message, "description": message})

    def serve(self, request: Request, stream: str, mode: PageMode, duplicates: int) -> Reply:
        if stream == "me":
            user = {"id": 1, "name": "Sandbox user", "email": self.email, "role": self.role}
            return json_reply(200, {"user": user})
        if stream in ADMIN_ONLY and self.role != "admin":
            forbidden = {
                "title": "Forbidden",
                "message": "You do not have access to this page. Please contact the account "
                "owner of this help desk for further help.",
            }
            return json_reply(403, {"error": forbidden})
        params = request.params
        if stream == "satisfaction_ratings":
            token, size_name, maximum = params.get("page[after]"), "page[size]", RATINGS_MAX
        else:
            token, size_name, maximum = params.get("cursor"), "per_page", EXPORT_MAX
        if token:
            state = decode_token(token)
        elif params.get("start_time"):
            state = {"start": integer(params, "start_time", 0), "key": None}
        else:
            raise BadRequest("start_time (or a cursor) is required")
        rows = since(
            self.store.served(self.source, stream),
            datetime.fromtimestamp(state["start"], UTC),
            inclusive=True,
        )
        exclude_deleted = params.get("exclude_deleted", state.get("exclude_deleted", ""))
        if stream == "tickets" and str(exclude_deleted).lower() == "true":
            state = {**state, "exclude_deleted": "true"}
            deleted = pl.col("record").str.json_path_match("$.status") == "deleted"
            rows = rows.filter(~deleted.fill_null(False))
        page = keyset_page(
            rows,
            state["key"],
            integer(params, size_name, maximum, maximum),
            duplicates=duplicates,
            empty=mode == "empty",
        )
        cursor = encode_token({**state, "key": page.last_key})
        records = join_records(page.rows)
        if stream == "satisfaction_ratings":
            following = None
            if page.has_more:
                query = urlencode(
                    {"page[size]": params.get(size_name, maximum), "page[after]": cursor}
                )
                following = f"{request.base_url}{request.path}?{query}"
            body = (
                f'{{"satisfaction_ratings":[{records}],"meta":{{"has_more":'
                f'{json.dumps(page.has_more)},"after_cursor":"{cursor}","before_cursor":null}},'
                f'"links":{{"next":{json.dumps(following)},"prev":null}}}}'
            )
            return Reply(200, body, records=page.rows.height)
        parts = [f'"{stream}":[{records}]']
        include = params.get("include", "")
        if stream == "tickets" and "metric_sets" in include.split(","):
            # Deleting a ticket deletes its metric set: a deleted ticket comes without one.
            metrics = self.store.served(self.source, "ticket_metrics")
            live = parents_with_children(self.source, page.rows)
            ids = live.get_column("record_id").unique().implode()
            side = metrics.filter(pl.col("parent_id").is_in(ids))
            parts.append(f'"metric_sets":[{join_records(side)}]')
        query = urlencode({"cursor": cursor, **({"include": include} if include else {})})
        parts += [
            f'"after_url":{json.dumps(f"{request.base_url}{request.path}?{query}")}',
            f'"after_cursor":"{cursor}"',
            '"before_url":null,"before_cursor":null',
            f'"end_of_stream":{json.dumps(not page.has_more)}',
        ]
        return Reply(200, "{" + ",".join(parts) + "}", records=page.rows.height)
