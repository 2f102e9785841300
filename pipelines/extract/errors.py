"""Errors of the extraction layer: each says what failed, where, and what to do.

Messages never carry credentials: URLs are reduced to their path, vendor error texts are
scrubbed of every secret the client knows before they are quoted.
"""

from __future__ import annotations


class ExtractionError(RuntimeError):
    """Base class: extraction of `source`/`stream` failed."""

    transient = False
    """Whether trying again later may succeed (the step retry policy retries only those)."""

    def __init__(self, message: str, *, source: str, stream: str | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.stream = stream


class AuthenticationError(ExtractionError):
    """The vendor rejected the credentials (never retried)."""


class RetriesExhaustedError(ExtractionError):
    """Transient failures (connection, timeout, 429, 5xx) outlasted the retry budget."""

    transient = True

    def __init__(
        self, message: str, *, source: str, stream: str | None, path: str, last_status: str
    ) -> None:
        super().__init__(message, source=source, stream=stream)
        self.path = path
        self.last_status = last_status


class MalformedResponseError(RetriesExhaustedError):
    """The vendor kept answering with a body that is not valid JSON (a parse error: the
    client's own retries did not help, a later step attempt will not either)."""

    transient = False


class VendorRequestError(ExtractionError):
    """The vendor refused the request itself (a 4xx other than auth/429, or an error body)."""


class PaginationError(ExtractionError):
    """The vendor's pages are inconsistent (e.g. empty pages that never advance)."""


class SchemaDriftError(ExtractionError):
    """A required field (or file column) is missing from a whole page or file."""


class StateError(ExtractionError):
    """A cursor or state file cannot be read."""


def is_transient(error: BaseException) -> bool:
    """Whether a failed extraction step is worth retrying later.

    Only failures of the network or the vendor's availability are (a connection that broke, a
    timeout, 429/5xx past the client's budget). Refused credentials, a refused request, a body
    that is not JSON, stuck pagination, schema drift, a file breaking the contract, an unreadable
    cursor and every unexpected error fail at once: retrying would repeat them and delay the
    morning report by the policy's waits.
    """
    if isinstance(error, ExtractionError):
        return error.transient
    return isinstance(error, (ConnectionError, TimeoutError))
