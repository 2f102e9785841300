"""Errors of the extraction layer: each says what failed, where, and what to do.

Messages never carry credentials: URLs are reduced to their path, vendor error texts are
scrubbed of every secret the client knows before they are quoted.
"""

from __future__ import annotations


class ExtractionError(RuntimeError):
    """Base class: extraction of `source`/`stream` failed."""

    def __init__(self, message: str, *, source: str, stream: str | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.stream = stream


class AuthenticationError(ExtractionError):
    """The vendor rejected the credentials (never retried)."""


class RetriesExhaustedError(ExtractionError):
    """Transient failures (connection, timeout, 429, 5xx) outlasted the retry budget."""

    def __init__(
        self, message: str, *, source: str, stream: str | None, path: str, last_status: str
    ) -> None:
        super().__init__(message, source=source, stream=stream)
        self.path = path
        self.last_status = last_status


class MalformedResponseError(RetriesExhaustedError):
    """The vendor kept answering with a body that is not valid JSON."""


class VendorRequestError(ExtractionError):
    """The vendor refused the request itself (a 4xx other than auth/429, or an error body)."""


class PaginationError(ExtractionError):
    """The vendor's pages are inconsistent (e.g. empty pages that never advance)."""


class SchemaDriftError(ExtractionError):
    """A required field (or file column) is missing from a whole page or file."""


class StateError(ExtractionError):
    """A cursor or state file cannot be read."""
