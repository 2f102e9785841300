"""A local HTTP server serving a vendor dataset through the four vendor APIs' shapes.

`SandboxServer(dataset_dir, faults=..., clock=...)` binds 127.0.0.1 (port 0 = a free port),
serves `/matomo`, `/mailchimp/3.0`, `/shopify/admin` and `/zendesk` with each vendor's auth,
pagination, incremental filters, call-limit and Retry-After headers, and the faults asked for.
`shopify_scopes` are the access token's scopes, `zendesk_role` the API user's role (a
resource they do not cover is refused with 403, as the vendors do).
`env()` gives the MATOMO_*/MAILCHIMP_*/SHOPIFY_*/ZENDESK_* variables pointing at it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import secrets
import socket
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from devkit.sandbox.api import BadRequest, PageMode, Reply, Request, VendorApi
from devkit.sandbox.faults import Fault, FaultPlan
from devkit.sandbox.mailchimp import MailchimpApi
from devkit.sandbox.matomo import MatomoApi
from devkit.sandbox.shopify import DEFAULT_SCOPES, ShopifyApi
from devkit.sandbox.store import VendorStore
from devkit.sandbox.zendesk import ZendeskApi
from devkit.vendor_dataset import VENDOR_SOURCES

log = logging.getLogger("journey.sandbox")

PREFIXES = {
    "matomo": "/matomo",
    "mailchimp": "/mailchimp",
    "shopify": "/shopify/admin",
    "zendesk": "/zendesk",
}
SHOPIFY_API_VERSION = "2024-10"


class LeakyBucket:
    """Shopify's REST call limit: `capacity` calls, leaking `rate` per second."""

    def __init__(self, capacity: int, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.level = 0.0
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> tuple[bool, str, float]:
        """(allowed, header value `used/capacity`, seconds until a call fits)."""
        with self.lock:
            now = time.monotonic()
            self.level = max(0.0, self.level - (now - self.stamp) * self.rate)
            self.stamp = now
            if self.level + 1 > self.capacity:
                wait = (self.level + 1 - self.capacity) / self.rate
                return False, f"{self.capacity}/{self.capacity}", wait
            self.level += 1
            return True, f"{math.ceil(self.level)}/{self.capacity}", 0.0


class SandboxServer:
    def __init__(
        self,
        dataset_dir: Path,
        *,
        faults: list[Fault] | None = None,
        clock: datetime | None = None,
        port: int = 0,
        call_limit: tuple[int, float] = (40, 2.0),
        shopify_scopes: tuple[str, ...] = DEFAULT_SCOPES,
        zendesk_role: str = "admin",
        sources: tuple[str, ...] = VENDOR_SOURCES,
    ) -> None:
        self.store = VendorStore(Path(dataset_dir), clock, sources)
        self.faults = FaultPlan(faults)
        self.bucket = LeakyBucket(*call_limit)
        self.credentials = {
            "matomo_token": secrets.token_hex(16),
            "mailchimp_api_key": f"{secrets.token_hex(16)}-us1",
            "shopify_access_token": f"shpat_{secrets.token_hex(16)}",
            "zendesk_email": "sandbox@example.com",
            "zendesk_api_token": secrets.token_hex(16),
        }
        self.site_id = self.store.first_value("matomo", "visits", "$.idSite", "1")
        self.list_id = self.store.first_value("mailchimp", "members", "$.list_id", "list0001")
        self.apis: dict[str, VendorApi] = {
            "matomo": MatomoApi(self.store, self.credentials["matomo_token"], self.site_id),
            "mailchimp": MailchimpApi(
                self.store, self.credentials["mailchimp_api_key"], self.list_id
            ),
            "shopify": ShopifyApi(
                self.store, self.credentials["shopify_access_token"], shopify_scopes
            ),
            "zendesk": ZendeskApi(
                self.store,
                self.credentials["zendesk_email"],
                self.credentials["zendesk_api_token"],
                zendesk_role,
            ),
        }
        self._log: list[dict] = []
        self._log_lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.sandbox = self
        self._thread: threading.Thread | None = None

    # ---- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SandboxServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name="sandbox-server", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._httpd.server_close()

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- control ------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        return {
            "MATOMO_BASE_URL": self.url + PREFIXES["matomo"],
            "MATOMO_TOKEN": self.credentials["matomo_token"],
            "MATOMO_SITE_ID": self.site_id,
            "MAILCHIMP_BASE_URL": self.url + PREFIXES["mailchimp"] + "/3.0",
            "MAILCHIMP_API_KEY": self.credentials["mailchimp_api_key"],
            "MAILCHIMP_LIST_ID": self.list_id,
            "SHOPIFY_BASE_URL": self.url + PREFIXES["shopify"],
            "SHOPIFY_ACCESS_TOKEN": self.credentials["shopify_access_token"],
            "SHOPIFY_API_VERSION": SHOPIFY_API_VERSION,
            "ZENDESK_BASE_URL": self.url + PREFIXES["zendesk"],
            "ZENDESK_EMAIL": self.credentials["zendesk_email"],
            "ZENDESK_API_TOKEN": self.credentials["zendesk_api_token"],
        }

    def set_clock(self, moment: datetime) -> None:
        self.store.set_clock(moment)

    def set_faults(self, faults: list[Fault]) -> None:
        self.faults.replace(faults)

    def upsert(
        self,
        source: str,
        stream: str,
        record: dict | str,
        *,
        updated_at: datetime,
        record_id: str | None = None,
        parent_id: str | None = None,
    ) -> None:
        """Add a version of a record (served once the clock reaches `updated_at`)."""
        self.store.upsert(
            source, stream, record, updated_at=updated_at, record_id=record_id, parent_id=parent_id
        )

    @property
    def request_log(self) -> list[dict]:
        with self._log_lock:
            return list(self._log)

    def clear_request_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    # ---- serving ------------------------------------------------------------------------------

    def handle(self, handler: _Handler) -> Reply | None:
        """The reply to one request (None: drop the connection without answering)."""
        parts = urlsplit(handler.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        source = next(
            (name for name, prefix in PREFIXES.items() if parts.path.startswith(prefix + "/")),
            None,
        )
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        entry = {
            "method": handler.command,
            "path": parts.path,
            "query": query,
            "source": source,
            "received_at": time.time(),  # when the request arrived (unix seconds)
        }
        if source is None:
            return self._record(entry, Reply(404, '{"error":"not found"}'))
        api = self.apis[source]
        form = dict(parse_qsl(body, keep_blank_values=True)) if source == "matomo" else {}
        request = Request(
            method=handler.command,
            path=parts.path[len(PREFIXES[source]) :],
            params={**query, **form},
            query=query,
            headers=handler.headers,
            base_url=self.url + PREFIXES[source],
        )
        stream = api.route(request)
        entry["stream"] = stream
        if stream is None:
            return self._record(entry, api.failure(404, f"no such endpoint {request.path}"))
        fault = self.faults.draw(source, stream)
        entry["fault"] = fault.kind if fault else None
        if fault is not None and fault.kind == "disconnect":
            self._record(entry, None)
            return None
        reply = self._reply(api, request, stream, fault)
        if fault is not None and fault.kind == "timeout":
            reply.delay_seconds = fault.delay_seconds
        return self._record(entry, reply)

    def _reply(self, api: VendorApi, request: Request, stream: str, fault: Fault | None) -> Reply:
        kind = fault.kind if fault else None
        if kind == "auth_failure" or not api.authorized(request):
            return api.auth_failure()
        if kind == "rate_limit":
            reply = api.failure(429, "Too many requests; slow down")
            reply.headers["Retry-After"] = f"{fault.retry_after:g}"  # type: ignore[union-attr]
            return reply
        if kind == "server_error":
            return api.failure(500, "Internal server error (injected)")
        call_limit = None
        if api.source == "shopify":
            allowed, call_limit, wait = self.bucket.take()
            if not allowed:
                reply = api.failure(429, "Exceeded 2 calls per second for api client.")
                reply.headers["Retry-After"] = f"{max(wait, 0.1):.1f}"
                return self._with_call_limit(api, reply, call_limit)
        mode: PageMode = {"duplicate_records": "duplicate", "empty_page": "empty"}.get(
            kind or "", "normal"
        )  # type: ignore[assignment]
        duplicates = fault.duplicates if fault and kind == "duplicate_records" else 0
        try:
            reply = api.serve(request, stream, mode, duplicates)
        except BadRequest as error:
            reply = api.failure(400, str(error))
        if kind == "malformed_json":
            reply.body = reply.body[: len(reply.body) // 2]
        return self._with_call_limit(api, reply, call_limit)

    def _with_call_limit(self, api: VendorApi, reply: Reply, value: str | None) -> Reply:
        if api.source == "shopify" and value:
            reply.headers["X-Shopify-Shop-Api-Call-Limit"] = value
        return reply

    def _record(self, entry: dict, reply: Reply | None) -> Reply | None:
        entry["status"] = reply.status if reply else None
        entry["records"] = reply.records if reply else 0
        entry["query"] = {k: v for k, v in entry["query"].items() if k != "token_auth"} | (
            {"token_auth": "<in query string!>"} if "token_auth" in entry["query"] else {}
        )
        with self._log_lock:
            self._log.append(entry)
        return reply


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    sandbox: SandboxServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: _Server

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        try:
            reply = self.server.sandbox.handle(self)
        except Exception:
            log.exception("sandbox failed on %s %s", self.command, self.path)
            reply = Reply(500, '{"error":"sandbox failure"}')
        if reply is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = reply.body.encode()
        time.sleep(reply.delay_seconds)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("sandbox: " + format, *args)
