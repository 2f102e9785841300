"""A throwaway PostgreSQL server for tests and benchmarks (never used by the product).

    with PostgresServer() as server:
        server.url   # postgresql://postgres@127.0.0.1:<port>/postgres

`initdb` into a fresh folder under /tmp, `pg_ctl start` on 127.0.0.1 and a free port (the Unix
socket in the same folder), `fsync=off` (a test server needs no durability), stopped and deleted
on exit. PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user
(`runuser`), which owns the folder. Needs the server binaries: `make system` installs them.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SEARCH = "/usr/lib/postgresql/*/bin"
SYSTEM_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def server_binaries() -> Path:
    found = sorted(glob.glob(SEARCH), key=lambda path: int(Path(path).parent.name))
    if found and Path(found[-1], "initdb").exists():
        return Path(found[-1])
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin or "
        "on PATH; run `make system` (installs Debian's postgresql package)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        self.bin = server_binaries()
        self.root: Path | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", SYSTEM_USER, "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, check=False, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr or done.stdout}")
        return done

    def __enter__(self) -> PostgresServer:
        self.root = Path(tempfile.mkdtemp(prefix="journey-pg-", dir="/tmp"))
        if os.geteuid() == 0:
            shutil.chown(self.root, user=SYSTEM_USER)
        data = self.root / "data"
        self._run(
            str(self.bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        for attempt in range(3):
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
                "-c full_page_writes=off -c synchronous_commit=off"
            )
            try:
                self._run(
                    str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.root / "server.log"),
                    "-w", "-t", "60", "-o", options, "start",
                )  # fmt: skip
                return self
            except RuntimeError:
                if attempt == 2:
                    log = (self.root / "server.log").read_text(errors="replace")[-2000:]
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"PostgreSQL did not start:\n{log}") from None
        return self

    def __exit__(self, *exc) -> None:
        if self.root is None:
            return
        data = self.root / "data"
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*(["runuser", "-u", SYSTEM_USER, "--"] if os.geteuid() == 0 else []),
                 str(self.bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True, check=False, timeout=60,
            )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
