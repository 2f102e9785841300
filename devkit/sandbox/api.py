"""What a sandboxed vendor API implements, and the helpers they share."""

from __future__ import annotations

import base64
import binascii
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from devkit.sandbox.store import VendorStore

PageMode = Literal["normal", "duplicate", "empty"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    """The path below the vendor's prefix (e.g. `/api/v2/users.json`)."""
    params: Mapping[str, str]
    """Query parameters (and, for Matomo, form fields) — the last value of each."""
    query: Mapping[str, str]
    """Query parameters only (what the request log shows)."""
    headers: Mapping[str, str]
    base_url: str
    """The server URL with the vendor's prefix, for building next-page links."""


@dataclass
class Reply:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    records: int = 0
    delay_seconds: float = 0.0
    """How long the server waits before answering (the `timeout` fault)."""


class BadRequest(Exception):
    """The request does not follow the vendor's documented usage (answered with a 400)."""


class VendorApi(ABC):
    source: str

    def __init__(self, store: VendorStore) -> None:
        self.store = store

    @abstractmethod
    def route(self, request: Request) -> str | None:
        """The stream `request` reads, or None for an unknown endpoint."""

    @abstractmethod
    def authorized(self, request: Request) -> bool: ...

    @abstractmethod
    def auth_failure(self) -> Reply: ...

    @abstractmethod
    def failure(self, status: int, message: str) -> Reply:
        """An error in the vendor's error shape."""

    @abstractmethod
    def serve(self, request: Request, stream: str, mode: PageMode, duplicates: int) -> Reply: ...


def encode_token(payload: dict) -> str:
    text = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def decode_token(token: str) -> dict:
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError) as error:
        raise BadRequest(f"invalid cursor {token[:40]!r}") from error
    if not isinstance(value, dict):
        raise BadRequest(f"invalid cursor {token[:40]!r}")
    return value


def parse_time(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise BadRequest(f"{name} must be an ISO-8601 time, got {text!r}") from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def integer(params: Mapping[str, str], name: str, default: int, maximum: int | None = None) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as error:
        raise BadRequest(f"{name} must be an integer, got {value!r}") from error
    return min(number, maximum) if maximum is not None and number > 0 else number


def basic_credentials(headers: Mapping[str, str]) -> tuple[str, str] | None:
    header = headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def json_reply(status: int, payload: object, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(payload), headers or {})
