"""Fixtures of the publish layer's tests (the builds themselves: `builds.py`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devkit.postgres_server import PostgresServer


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server for the session (each xdist worker has its own)."""
    with PostgresServer() as server:
        yield server.url
