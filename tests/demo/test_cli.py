"""The commands the demo README documents run as written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipelines.settings import PROJECT_ROOT


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )


def test_generate_command(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = _run("-m", "devkit.demo", "generate", "--persons", "200", "--seed", "5", "--out", str(out),
                "--start", "2026-03-01", "--end", "2026-05-31")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "vendor/matomo/visits.parquet" in done.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["persons"] == 200 and manifest["seed"] == 5
    assert manifest["period"] == {"start": "2026-03-01", "end": "2026-05-31"}


def test_generate_command_reports_bad_input(tmp_path: Path) -> None:
    (tmp_path / "other.txt").write_text("x")
    done = _run("-m", "devkit.demo", "generate", "--persons", "200", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "error:" in done.stderr and "other.txt" in done.stderr


def test_bench_command(tmp_path: Path) -> None:
    done = _run("-m", "bench.generate_bench", "--sizes", "100", "--keep", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "vendor rows" in done.stdout
    assert (tmp_path / "persons-100" / "manifest.json").exists()
