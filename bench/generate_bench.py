"""Demo generator speed and memory: wall time and peak memory per size, against the targets.

    .venv/bin/python -m bench.generate_bench                      # 2,000 and 100,000 persons
    .venv/bin/python -m bench.generate_bench --sizes 2000 100000 1000000

Each size runs `python -m devkit.demo generate` in a child process (so peak memory is that
run's own) into a temporary folder that is deleted afterwards (`--keep DIR` keeps them).
Targets: 2,000 persons in a few seconds; 100,000 in under 60 s; 1,000,000 in under 10 minutes
with a peak under 16 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {2_000: (10, None), 100_000: (60, None), 1_000_000: (600, 16 * 1024**3)}  # seconds, bytes


def run_once(persons: int, seed: int, out: Path) -> dict:
    """Generate into `out` in a child process; wall seconds, CPU seconds, peak RSS and row counts."""
    command = [sys.executable, "-m", "devkit.demo", "generate", "--persons", str(persons),
               "--seed", str(seed), "--out", str(out)]  # fmt: skip
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(
            f"generate --persons {persons} failed: {child.stderr.read().decode()[-2000:]}"
        )
    manifest = json.loads((out / "manifest.json").read_text())
    vendor_rows = sum(n for name, n in manifest["row_counts"].items() if name.startswith("vendor/"))
    return {
        "persons": persons,
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_bytes": usage.ru_maxrss * 1024,
        "vendor_rows": vendor_rows,
        "disk_bytes": sum(p.stat().st_size for p in out.rglob("*") if p.is_file()),
    }


def verdict(result: dict) -> str:
    seconds_target, bytes_target = TARGETS.get(result["persons"], (None, None))
    misses = []
    if seconds_target and result["seconds"] > seconds_target:
        misses.append(f"> {seconds_target} s")
    if bytes_target and result["peak_bytes"] > bytes_target:
        misses.append(f"> {bytes_target / 1024**3:.0f} GB")
    if not seconds_target:
        return "(no target)"
    return "MISS " + ", ".join(misses) if misses else "ok"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 100_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep the datasets under this folder")
    args = parser.parse_args(argv)
    print(
        f"{'persons':>10} {'wall s':>8} {'cpu s':>8} {'peak GB':>8} {'vendor rows':>12} {'rows/s':>10} {'disk MB':>8}  target"
    )
    failed = False
    for persons in args.sizes:
        with tempfile.TemporaryDirectory(prefix="demo-bench-") as scratch:
            out = (args.keep or Path(scratch)) / f"persons-{persons}"
            result = run_once(persons, args.seed, out)
        mark = verdict(result)
        failed |= mark.startswith("MISS")
        print(
            f"{persons:>10,} {result['seconds']:>8.1f} {result['cpu_seconds']:>8.1f} "
            f"{result['peak_bytes'] / 1024**3:>8.2f} {result['vendor_rows']:>12,} "
            f"{result['vendor_rows'] / result['seconds']:>10,.0f} {result['disk_bytes'] / 1024**2:>8.0f}  {mark}",
            flush=True,
        )
    print(f"(load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
