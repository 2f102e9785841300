"""Sandboxed Shopify Admin REST: orders, customers and abandoned checkouts.

Filters go on the first request only; further pages are `Link: <…page_info=…>; rel="next"`
URLs carrying only `limit` and `page_info` (a request mixing `page_info` with filters is
refused with 400, as Shopify does). The call-limit header is added by the server.

The token carries access scopes (`/admin/oauth/access_scopes.json` lists them): a resource
whose scope is missing is refused with 403, as Shopify does.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from devkit.sandbox.api import (
    BadRequest,
    PageMode,
    Reply,
    Request,
    VendorApi,
    decode_token,
    encode_token,
    integer,
    json_reply,
    parse_time,
)
from devkit.sandbox.store import VendorStore, join_records, keyset_page, since

MAX_LIMIT = 250
_RESOURCE = re.compile(r"^/api/([^/]+)/(orders|customers|checkouts)\.json$")
ACCESS_SCOPES = "/oauth/access_scopes.json"
# the scope each resource needs (abandoned checkouts are read with the orders scope)
SCOPE_OF = {"orders": "read_orders", "customers": "read_customers", "checkouts": "read_orders"}
DEFAULT_SCOPES = ("read_orders", "read_all_orders", "read_customers")


class ShopifyApi(VendorApi):
    source = "shopify"

    def __init__(
        self, store: VendorStore, access_token: str, scopes: tuple[str, ...] = DEFAULT_SCOPES
    ) -> None:
        super().__init__(store)
        self.access_token = access_token
        self.scopes = tuple(scopes)

    def route(self, request: Request) -> str | None:
        if request.path == ACCESS_SCOPES:
            return "access_scopes"
        match = _RESOURCE.match(request.path)
        return match.group(2) if match else None

    def authorized(self, request: Request) -> bool:
        return request.headers.get("X-Shopify-Access-Token") == self.access_token

    def auth_failure(self) -> Reply:
        return json_reply(
            401,
            {
                "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
            },
        )

    def failure(self, status: int, message: str) -> Reply:
        return json_reply(status, {"errors": message})

    def serve(self, request: Request, stream: str, mode: PageMode, duplicates: int) -> Reply:
        if stream == "access_scopes":
            return json_reply(200, {"access_scopes": [{"handle": scope} for scope in self.scopes]})
        if SCOPE_OF[stream] not in self.scopes:
            return self.failure(
                403, f"[API] This action requires merchant approval for {SCOPE_OF[stream]} scope."
            )
        params = request.params
        limit = integer(params, "limit", 50, MAX_LIMIT)
        token = params.get("page_info")
        if token:
            extra = sorted(set(params) - {"limit", "page_info"})
            if extra:
                raise BadRequest(f"page_info cannot be combined with {', '.join(extra)}")
            state = decode_token(token)
        else:
            state = {
                "min": params.get("updated_at_min"),
                "max": params.get("updated_at_max"),
                "key": None,
            }
        rows = since(
            self.store.served(self.source, stream),
            parse_time(state["min"], "updated_at_min") if state["min"] else None,
            inclusive=True,
            upper=parse_time(state["max"], "updated_at_max") if state["max"] else None,
        )
        page = keyset_page(rows, state["key"], limit, duplicates=duplicates, empty=mode == "empty")
        headers = {}
        if page.has_more:
            next_state = {**state, "key": page.last_key}
            query = urlencode({"limit": limit, "page_info": encode_token(next_state)})
            url = f"{request.base_url}{request.path}?{query}"
            headers["Link"] = f'<{url}>; rel="next"'
        body = f'{{"{stream}":[{join_records(page.rows)}]}}'
        return Reply(200, body, headers, records=page.rows.height)
