"""The one HTTP client every connector uses.

* Timeouts on connect and read (`JOURNEY_HTTP_TIMEOUT_SECONDS`).
* Bounded retries (`JOURNEY_HTTP_MAX_RETRIES`, driven by tenacity) with exponential backoff
  and full jitter on connection errors, timeouts and 5xx; a 429 waits for its `Retry-After`.
* Shopify's `X-Shopify-Shop-Api-Call-Limit: used/limit` slows the next request down when the
  bucket is nearly full, so the 429 never comes.
* Auth failures (401/403, or a vendor's auth error body) fail at once, without retry, with the
  settings to check. A body that is not JSON is retried like a transient failure, then fails.
* Credentials travel in headers or POST bodies only; messages and logs carry the URL path
  without query, and every known secret is scrubbed from quoted vendor texts.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
import tenacity
from requests.adapters import HTTPAdapter

from pipelines.extract.errors import (
    AuthenticationError,
    MalformedResponseError,
    RetriesExhaustedError,
    VendorRequestError,
)
from pipelines.privacy.secrets import Scrubber, secret_forms
from pipelines.settings import HttpSettings, Secret

log = logging.getLogger("journey.extract")

MAX_RETRY_AFTER_SECONDS = 600.0
CALL_LIMIT_HEADER = "X-Shopify-Shop-Api-Call-Limit"
BUCKET_WAIT_LOG_SECONDS = 2.0  # shorter call-limit pauses are routine and not worth a line


@dataclass(frozen=True)
class JsonResponse:
    status: int
    headers: Mapping[str, str]
    text: str
    data: Any
    path: str
    received_at: datetime

    def link(self, rel: str) -> str | None:
        """The URL of the `Link` header entry with `rel` (RFC 8288), if any."""
        header = self.headers.get("Link")
        if not header:
            return None
        for link in requests.utils.parse_header_links(header):
            if link.get("rel") == rel:
                return link.get("url")
        return None


# A vendor-specific reading of a parsed 2xx body: returns ("auth" | "error", message) when the
# body is really an error (Matomo answers errors with HTTP 200), else None.
BodyCheck = Callable[[Any], tuple[str, str] | None]


class _Transient(Exception):
    """One attempt failed in a way a later attempt may not: what happened, and the wait the
    vendor asked for (Retry-After), if any."""

    def __init__(self, what: str, wait: float | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.wait = wait


def _transient_of(state: tenacity.RetryCallState) -> _Transient:
    assert state.outcome is not None
    error = state.outcome.exception()
    assert isinstance(error, _Transient)
    return error


def redact_path(url: str) -> str:
    """The path of `url`: no scheme, host, user info or query string."""
    return urlsplit(url).path or "/"


class HttpClient:
    """JSON over HTTP for one source, with the retry and rate-limit rules above."""

    def __init__(
        self,
        source: str,
        settings: HttpSettings,
        *,
        credential_hint: str,
        secrets: Sequence[Secret] = (),
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, Secret] | None = None,
        body_check: BodyCheck | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.source = source
        self.settings = settings
        self.credential_hint = credential_hint
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms |= secret_forms(secret.reveal())
        if auth is not None:
            forms |= secret_forms(auth[1].reveal(), basic_auth_users=[auth[0]])
        self._scrubber = Scrubber.of(forms)
        self._body_check = body_check
        self._sleep = sleep
        self._jitter = jitter
        self._session = requests.Session()
        adapter = HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=4)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update({"Accept": "application/json", **(headers or {})})
        if auth is not None:
            self._session.auth = (auth[0], auth[1].reveal())
        self._not_before = 0.0
        self._lock = threading.Lock()
        self.requests_made = 0
        self.retries = 0

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------

    def get(
        self, url: str, *, stream: str, params: Mapping[str, Any] | None = None
    ) -> JsonResponse:
        return self.request("GET", url, stream=stream, params=params)

    def post(
        self,
        url: str,
        *,
        stream: str,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> JsonResponse:
        return self.request("POST", url, stream=stream, params=params, data=data)

    def request(
        self,
        method: str,
        url: str,
        *,
        stream: str,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> JsonResponse:
        path = redact_path(url)
        attempts = self.settings.max_retries + 1

        def attempt() -> JsonResponse:
            self._wait_for_bucket()
            try:
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    timeout=(self.settings.timeout_seconds, self.settings.timeout_seconds),
                )
            except requests.Timeout:
                raise _Transient(f"timeout after {self.settings.timeout_seconds:g} s") from None
            except requests.ConnectionError:
                raise _Transient("connection error") from None
            except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                    requests.exceptions.InvalidSchema) as error:  # fmt: skip
                raise VendorRequestError(
                    f"{self.source}/{stream}: the request URL is not usable "
                    f"({type(error).__name__}); check the base URL and {self.credential_hint}",
                    source=self.source,
                    stream=stream,
                ) from None  # the library's message quotes the whole URL
            except requests.RequestException as error:
                raise _Transient(f"{type(error).__name__} (the answer broke off)") from None
            self.requests_made += 1
            if response.status_code != 429:  # a 429 says when to come back itself
                self._note_call_limit(response.headers)
            outcome = self._judge(response, stream, path)
            if isinstance(outcome, JsonResponse):
                return outcome
            raise _Transient(*outcome)

        def wait(state: tenacity.RetryCallState) -> float:
            """The vendor's Retry-After when it sent one, else backoff with full jitter."""
            transient = _transient_of(state)
            return (
                transient.wait
                if transient.wait is not None
                else self._backoff(state.attempt_number)
            )

        def before_sleep(state: tenacity.RetryCallState) -> None:
            self.retries += 1
            transient, delay = _transient_of(state), state.upcoming_sleep
            if transient.wait is not None:
                pause = f"waiting {delay:.1f} s for {self.source}'s Retry-After"
            else:
                pause = f"backing off {delay:.2f} s"
            log.warning(
                "%s/%s: %s on %s %s; %s (retry %d of %d)",
                self.source,
                stream,
                transient.what,
                method,
                path,
                pause,
                state.attempt_number,
                attempts - 1,
            )

        # only `_Transient` is retried: auth failures, refused requests and unusable URLs raise
        # at once; tenacity owns the loop, the count, the waits and the sleeping
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Transient),
            stop=tenacity.stop_after_attempt(attempts),
            wait=wait,
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Transient as exhausted:
            last = exhausted.what
        failure = (
            MalformedResponseError if last.startswith("malformed JSON") else RetriesExhaustedError
        )
        raise failure(
            f"{self.source}/{stream}: {method} {path} failed {attempts} times; last: {last}. "
            f"The vendor may be down or throttling; re-run later, or raise "
            f"JOURNEY_HTTP_MAX_RETRIES / JOURNEY_HTTP_TIMEOUT_SECONDS",
            source=self.source,
            stream=stream,
            path=path,
            last_status=last,
        ) from None

    # ------------------------------------------------------------------------------------------

    def _judge(
        self, response: requests.Response, stream: str, path: str
    ) -> JsonResponse | tuple[str, float | None]:
        """A usable response, or (what went wrong, how long to wait) for a retry; raises
        at once for what retrying cannot fix."""
        status = response.status_code
        if status in (401, 403):
            raise self._auth_error(stream, path, f"HTTP {status}", self._vendor_message(response))
        if status == 429:
            return "HTTP 429 (rate limited)", self._retry_after(response)
        if status >= 500:
            return f"HTTP {status}", None
        if status >= 400:
            raise VendorRequestError(
                f"{self.source}/{stream}: {response.request.method} {path} was refused with "
                f"HTTP {status}: {self._vendor_message(response)}. Check the request settings "
                f"({self.credential_hint} and the base URL)",
                source=self.source,
                stream=stream,
            )
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError as error:
            return (
                f"malformed JSON body (HTTP {status}, {len(response.content)} bytes: {error})",
                None,
            )
        if self._body_check is not None:
            verdict = self._body_check(data)
            if verdict is not None:
                kind, message = verdict
                if kind == "auth":
                    raise self._auth_error(stream, path, "an auth error", self._scrub(message))
                raise VendorRequestError(
                    f"{self.source}/{stream}: {path} answered with an error: "
                    f"{self._scrub(message)}",
                    source=self.source,
                    stream=stream,
                )
        return JsonResponse(
            status=status,
            headers=response.headers,
            text=response.content.decode("utf-8"),
            data=data,
            path=path,
            received_at=datetime.now(UTC),
        )

    def _auth_error(self, stream: str, path: str, what: str, detail: str) -> AuthenticationError:
        return AuthenticationError(
            f"{self.source}/{stream}: the vendor rejected the credentials ({what} on {path}: "
            f"{detail}). Check {self.credential_hint}; not retried",
            source=self.source,
            stream=stream,
        )

    def _vendor_message(self, response: requests.Response) -> str:
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return self._scrub(response.text)[:200] or "(empty body)"
        if isinstance(data, dict):
            parts = [
                str(data[key])
                for key in ("title", "detail", "error", "errors", "message", "description")
                if data.get(key)
            ]
            if parts:
                return self._scrub("; ".join(parts))[:300]
        return self._scrub(str(data))[:300]

    def _scrub(self, text: str) -> str:
        return self._scrubber.scrub(text)

    def pause(self, attempt: int) -> None:
        """Sleep the backoff of retry `attempt` (for connectors retrying a suspicious page)."""
        self._sleep(self._backoff(attempt))

    def _backoff(self, attempt: int) -> float:
        ceiling = min(
            self.settings.backoff_max_seconds,
            self.settings.backoff_base_seconds * 2 ** (attempt - 1),
        )
        return float(self._jitter() * ceiling)

    def _retry_after(self, response: requests.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if value is None:
            return None
        try:
            return min(max(float(value), 0.0), MAX_RETRY_AFTER_SECONDS)
        except ValueError:
            return None

    def _note_call_limit(self, headers: Mapping[str, str]) -> None:
        """Near a full leaky bucket, wait until it has drained to three quarters."""
        value = headers.get(CALL_LIMIT_HEADER)
        if not value:
            return
        try:
            used, limit = (float(part) for part in value.split("/"))
        except ValueError:
            return
        if limit <= 0 or used < 0.8 * limit:
            return
        leak_per_second = limit / 20.0  # Shopify: 40 → 2/s, 400 → 20/s
        delay = (used - 0.75 * limit) / leak_per_second
        with self._lock:
            self._not_before = max(self._not_before, time.monotonic() + delay)

    def _wait_for_bucket(self) -> None:
        with self._lock:
            delay = self._not_before - time.monotonic()
        if delay > 0:
            if delay >= BUCKET_WAIT_LOG_SECONDS:
                log.info("%s: waiting %.1f s for the API call limit to drain", self.source, delay)
            self._sleep(delay)
