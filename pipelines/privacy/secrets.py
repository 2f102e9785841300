"""Credentials in every form they can take in text, and a scrubber that removes them.

A token leaks not only as itself: an HTTP library quotes the URL it failed on (a webhook URL
carries its token in the path), a vendor's error page may echo the `Authorization` header
(base64 of `user:password`: Zendesk's `email/token:API_TOKEN`, Mailchimp's `any:API_KEY`), a
query string holds it URL-encoded. `secret_forms` lists those forms; a `Scrubber` replaces
each by `***` in any text before it is logged, reported, posted or raised.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

MASK = "***"
MIN_SECRET_LENGTH = 6
"""Shorter values are not scrubbed on their own (masking every `1` or `abc` in a text would
destroy it); a secret this short is refused by the settings anyway."""
URL_PART_MIN_LENGTH = 16
"""Path segments and query values of a secret URL are secret on their own when they are this
long, or hold a digit and are at least `MIN_SECRET_LENGTH` long (Slack `T…/B…/token`, Discord
`id/token`, `?token=…`); words such as `services` or `webhooks` are not."""


def _base64_forms(raw: bytes) -> set[str]:
    forms = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = encode(raw).decode("ascii")
        forms |= {text, text.rstrip("=")}
    return forms


def secret_forms(value: str, *, basic_auth_users: Iterable[str] = ()) -> set[str]:
    """The texts by which `value` can appear: raw, URL-encoded, base64, and base64 of each
    `user:value` basic-auth pair."""
    if len(value) < MIN_SECRET_LENGTH:
        return set()
    forms = {value, quote(value, safe=""), quote_plus(value), quote(value)}
    forms |= _base64_forms(value.encode("utf-8"))
    for user in basic_auth_users:
        forms |= _base64_forms(f"{user}:{value}".encode())
    return forms


def url_secret_forms(url: str) -> set[str]:
    """A URL whose whole text is secret (a webhook): the URL, its path and query, the user
    info, and each long path segment and query value — in every form of `secret_forms`."""
    parts = urlsplit(url)
    values = {url, url.split("?")[0], parts.path, parts.query, parts.netloc.rpartition("@")[0]}
    if parts.query:
        values.add(f"{parts.path}?{parts.query}")
    values |= {segment for segment in parts.path.split("/") if _looks_secret(segment)}
    values |= {value for _, value in parse_qsl(parts.query) if _looks_secret(value)}
    if parts.password:
        values.add(parts.password)
    forms: set[str] = set()
    for value in values:
        if value and value != "/":
            forms |= secret_forms(value)
    return forms


def _looks_secret(part: str) -> bool:
    return len(part) >= URL_PART_MIN_LENGTH or (
        len(part) >= MIN_SECRET_LENGTH and any(char.isdigit() for char in part)
    )


def public_location(url: str) -> str:
    """What of a secret URL may be shown: scheme and host (no user info, port kept)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


@dataclass(frozen=True)
class Scrubber:
    """Replaces every known secret form in a text by `***` (longest forms first)."""

    forms: tuple[str, ...] = ()

    @classmethod
    def of(cls, forms: Iterable[str]) -> Scrubber:
        unique = {form for form in forms if len(form) >= MIN_SECRET_LENGTH}
        return cls(tuple(sorted(unique, key=lambda form: (-len(form), form))))

    def __add__(self, other: Scrubber) -> Scrubber:
        return Scrubber.of((*self.forms, *other.forms))

    def scrub(self, text: str) -> str:
        if not self.forms or not text:
            return text
        return self._pattern().sub(MASK, text)

    def _pattern(self) -> re.Pattern[str]:
        return re.compile("|".join(re.escape(form) for form in self.forms))

    def scrub_data(self, value: Any) -> Any:
        """`scrub` applied to every string inside nested lists and dicts (keys too)."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {self.scrub_data(k): self.scrub_data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.scrub_data(item) for item in value]
        return value

    def contains_secret(self, text: str) -> bool:
        return bool(self.forms) and self._pattern().search(text) is not None


class _ScrubbingFilter(logging.Filter):
    def __init__(self, scrubber: Scrubber) -> None:
        super().__init__()
        self.scrubber = scrubber

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.scrubber.contains_secret(message):
            record.msg, record.args = self.scrubber.scrub(message), ()
        return True


@contextmanager
def scrubbed_logs(scrubber: Scrubber, *loggers: str) -> Iterator[None]:
    """While the block runs, records of `loggers` (e.g. `urllib3.connectionpool`, which logs
    each request line at DEBUG) are scrubbed before any handler sees them."""
    log_filter = _ScrubbingFilter(scrubber)
    for name in loggers:
        logging.getLogger(name).addFilter(log_filter)
    try:
        yield
    finally:
        for name in loggers:
            logging.getLogger(name).removeFilter(log_filter)
