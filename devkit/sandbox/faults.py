"""Fault injection for the sandbox, per source and endpoint (stream).

A `Fault` fires on the requests matching its source (and stream, if given): it lets the first
`after` matching requests through, then fires on the next `times` (None: for good).

kinds:
* `rate_limit` — 429 with `Retry-After: retry_after`;
* `server_error` — a 500 with the vendor's error body;
* `timeout` — the answer comes after `delay_seconds` (longer than the client's timeout);
* `malformed_json` — a 200 whose body is cut in half;
* `duplicate_records` — the page also carries the `duplicates` records before it (which the
  previous page already served);
* `empty_page` — an empty page that does not advance pagination (Shopify/Zendesk: the next
  link points at the same position; Mailchimp: an empty page before `total_items`; Matomo:
  an empty array);
* `auth_failure` — the vendor's answer to bad credentials;
* `disconnect` — the connection is closed without an answer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal[
    "rate_limit",
    "server_error",
    "timeout",
    "malformed_json",
    "duplicate_records",
    "empty_page",
    "auth_failure",
    "disconnect",
]
FAULT_KINDS = FaultKind.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    source: str
    stream: str | None = None
    after: int = 0
    times: int | None = 1
    retry_after: float = 1.0
    delay_seconds: float = 3.0
    duplicates: int = 2

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; kinds are {FAULT_KINDS}")


class FaultPlan:
    """Decides, thread-safely, which fault (if any) a request gets."""

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._seen: list[int] = []
        self._fired: list[int] = []
        self.replace(faults or [])

    def replace(self, faults: list[Fault]) -> None:
        with self._lock:
            self._faults = list(faults)
            self._seen = [0] * len(self._faults)
            self._fired = [0] * len(self._faults)

    def draw(self, source: str, stream: str) -> Fault | None:
        """Count this request against every matching fault; return the first that fires."""
        chosen = None
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.source != source or fault.stream not in (None, stream):
                    continue
                self._seen[index] += 1
                if chosen is not None or self._seen[index] <= fault.after:
                    continue
                if fault.times is not None and self._fired[index] >= fault.times:
                    continue
                self._fired[index] += 1
                chosen = fault
        return chosen

    def fired(self) -> list[tuple[Fault, int]]:
        with self._lock:
            return list(zip(self._faults, self._fired, strict=True))
