"""Same seed and arguments give the same dataset; another seed gives another one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from devkit.demo.generator import generate


def _contents(root: Path) -> dict[str, object]:
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        files[name] = pl.read_parquet(path) if path.suffix == ".parquet" else path.read_bytes()
    return files


def _same(left: dict[str, object], right: dict[str, object]) -> bool:
    if left.keys() != right.keys():
        return False
    for name, value in left.items():
        other = right[name]
        same = value.equals(other) if isinstance(value, pl.DataFrame) else value == other
        if not same:
            return False
    return True


def test_same_seed_same_content(tmp_path: Path) -> None:
    args = {"persons": 300, "seed": 3, "start": date(2026, 2, 1), "end": date(2026, 6, 30)}
    first = generate(tmp_path / "a", **args)
    second = generate(tmp_path / "b", **args)
    assert first == second
    assert _same(_contents(tmp_path / "a"), _contents(tmp_path / "b"))


def test_other_seed_other_content(tmp_path: Path) -> None:
    generate(tmp_path / "a", persons=300, seed=3)
    generate(tmp_path / "b", persons=300, seed=4)
    a, b = _contents(tmp_path / "a"), _contents(tmp_path / "b")
    assert not a["vendor/matomo/visits.parquet"].equals(b["vendor/matomo/visits.parquet"])


def test_regenerating_into_the_same_folder_replaces_it(tmp_path: Path) -> None:
    generate(tmp_path, persons=300, seed=3)
    before = _contents(tmp_path)
    generate(tmp_path, persons=300, seed=3)
    assert _same(before, _contents(tmp_path))


def test_refuses_a_folder_with_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"notes\.txt"):
        generate(tmp_path, persons=300)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--persons"):
        generate(tmp_path / "a", persons=10)
    with pytest.raises(ValueError, match="before its start"):
        generate(tmp_path / "b", persons=300, start=date(2026, 5, 1), end=date(2026, 4, 1))
