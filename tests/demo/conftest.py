"""One default-size demo dataset (2,000 persons, seed 7) shared by the demo tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit.demo.generator import generate

DEFAULT_PERSONS = 2000


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "out"
    generate(root, persons=DEFAULT_PERSONS, seed=7)
    return root
