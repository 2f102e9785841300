"""A tiny HTTP server standing in for a misbehaving vendor or a broken webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest

Reply = tuple[int, dict]
Responder = Callable[[BaseHTTPRequestHandler, bytes], Reply]


@dataclass
class FakeServer:
    """Answers every request with `respond(handler, body)`; keeps what it received."""

    respond: Responder
    received: list[dict] = field(default_factory=list)

    def start(self) -> FakeServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.received.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers),
                     "body": body.decode("utf-8", "replace")}
                )  # fmt: skip
                status, payload = outer.respond(self, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def echo_credentials(token: str) -> Responder:
    """A vendor that refuses the credentials and quotes them back: the `Authorization` header,
    its base64 part, the token and the token URL-encoded."""

    def respond(handler: BaseHTTPRequestHandler, body: bytes) -> Reply:
        authorization = handler.headers.get("Authorization", "")
        return 401, {
            "error": "Couldn't authenticate you",
            "description": f"got {authorization} ({authorization.split()[-1]}) for {token} / "
            f"{quote(token, safe='')} on {handler.path}",
        }

    return respond


@pytest.fixture
def fake_server() -> Iterator[Callable[[Responder], FakeServer]]:
    servers: list[FakeServer] = []

    def start(respond: Responder) -> FakeServer:
        server = FakeServer(respond).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
