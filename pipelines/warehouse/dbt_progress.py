"""Progress of a dbt invocation, read from dbt's structured log events (no Dagster here).

dagster-dbt runs dbt with `--log-format json` and hands over each event as a dict
(`{"info": {"name", "level", "msg", …}, "data": {…, "node_info": {…}}}`, dbt's documented
structured logging). `DbtProgress.feed` turns them into lines worth printing: one per model,
seed or snapshot as it finishes ("node n of N", its relation, status and dbt's own execution
time), one per failed or warned test, a running count of the passing tests every few
seconds, and the final tally. Nothing here parses dbt's text output.

When dbt fails, `DbtProgress.error()` is the error to raise: the model, its file and the
database's message (from dbt's `RunResultError` events), or the failed tests.
"""

from __future__ import annotations

import logging
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipelines.console import announce, format_seconds

TEST_SUMMARY_SECONDS = 5.0
RESULT_EVENTS = {"LogModelResult", "LogSeedResult", "LogSnapshotResult"}

Line = tuple[int, str]


class DbtBuildError(RuntimeError):
    """dbt could not build one or more models (the message names them and the database error)."""


class DbtTestsFailed(DbtBuildError):
    """Every model was built, but dbt tests of severity `error` failed."""


@dataclass
class _NodeError:
    name: str
    resource_type: str
    path: str
    message: str = ""


@dataclass
class DbtProgress:
    label: str
    """How the lines name this invocation (e.g. "dbt 1/2")."""
    test_summary_seconds: float = TEST_SUMMARY_SECONDS
    clock: Callable[[], float] = time.monotonic
    total: int | None = None
    models_done: int = 0
    tests_passed: int = 0
    tests_warned: int = 0
    tests_failed: int = 0
    skipped: int = 0
    failed_nodes: dict[str, _NodeError] = field(default_factory=dict)
    failed_tests: list[str] = field(default_factory=list)
    errored_tests: list[str] = field(default_factory=list)  # could not run: no rows to show
    error_lines: list[str] = field(default_factory=list)
    _last_summary: float | None = None
    _unreported_tests: int = 0

    def feed(self, event: dict[str, Any]) -> list[Line]:
        """The lines to print for one structured dbt event (often none)."""
        info, data = event.get("info", {}), event.get("data", {})
        name = info.get("name")
        node = data.get("node_info") or {}
        if info.get("level") == "error" and info.get("msg"):
            self.error_lines.append(str(info["msg"]).strip())
        if name == "ConcurrencyLine":
            self.total = data.get("node_count")
            self._last_summary = self.clock()
            return [
                (
                    logging.INFO,
                    f"{self.label}: building {self.total} nodes with "
                    f"{data.get('num_threads')} threads",
                )
            ]
        if name == "LogStartLine":
            announce(
                f"{self.label}: running {data.get('description') or node.get('node_name')} "
                f"({self._position(data)})"
            )
            return []
        if name in RESULT_EVENTS:
            return [self._node_result(data, node)]
        if name == "LogTestResult":
            return self._test_result(data, node)
        if name == "SkippingDetails":
            self.skipped += 1
            if data.get("resource_type") in ("model", "seed", "snapshot"):
                return [
                    (
                        logging.WARNING,
                        f"[{self._position(data)}] {data.get('resource_type')} "
                        f"{data.get('schema')}.{data.get('node_name')} SKIPPED (an upstream "
                        "node failed)",
                    )
                ]
            return []
        if name == "RunResultError":
            error = self._failed(node)
            error.message = str(data.get("msg") or info.get("msg") or "").strip()
            return []
        if name == "StatsLine":
            stats = data.get("stats") or {}
            lines = self._test_summary(force=True)
            lines.append(
                (
                    logging.INFO,
                    f"{self.label}: done, {stats.get('pass', 0)} passed, "
                    f"{stats.get('warn', 0)} warned, {stats.get('error', 0)} errors, "
                    f"{stats.get('skip', 0)} skipped of {stats.get('total', 0)}",
                )
            )
            return lines
        return []

    # ---- results -----------------------------------------------------------------------------

    def _position(self, data: dict[str, Any]) -> str:
        total = data.get("total") or data.get("num_models") or self.total or 0
        width = len(str(total))
        return f"{data.get('index', 0):>{width}}/{total}"

    def _failed(self, node: dict[str, Any]) -> _NodeError:
        name = node.get("node_name") or "?"
        if name not in self.failed_nodes:
            self.failed_nodes[name] = _NodeError(
                name=name,
                resource_type=node.get("resource_type") or "node",
                path=node.get("node_path") or "",
            )
        return self.failed_nodes[name]

    def _node_result(self, data: dict[str, Any], node: dict[str, Any]) -> Line:
        self.models_done += 1
        status = str(data.get("status") or "").strip()
        failed = status.lower() == "error"
        if failed:
            self._failed(node)
        relation = data.get("description") or node.get("node_name")
        for prefix in ("sql table model ", "sql view model ", "sql incremental model "):
            relation = str(relation).removeprefix(prefix)
        kind = node.get("resource_type") or "model"
        text = (
            f"[{self._position(data)}] {kind} {relation} {status.upper() if failed else status} "
            f"{format_seconds(data.get('execution_time'))}"
        )
        return (logging.ERROR if failed else logging.INFO, text)

    def _test_result(self, data: dict[str, Any], node: dict[str, Any]) -> list[Line]:
        status = str(data.get("status") or "").lower()
        test = data.get("name") or node.get("node_name")
        if status == "pass":
            self.tests_passed += 1
            self._unreported_tests += 1
            return self._test_summary()
        rows = data.get("num_failures")
        detail = f" ({rows} rows)" if rows else ""
        position = self._position({**data, "total": data.get("num_models")})
        if status == "warn":
            self.tests_warned += 1
            return [(logging.WARNING, f"[{position}] test {test} WARN{detail}")]
        self.tests_failed += 1
        self.failed_tests.append(f"{test}{detail}")
        if status == "error":
            self._failed(node)
            self.errored_tests.append(str(test))
        return [(logging.ERROR, f"[{position}] test {test} {status.upper()}{detail}")]

    def _test_summary(self, *, force: bool = False) -> list[Line]:
        now = self.clock()
        due = self._last_summary is None or now - self._last_summary >= self.test_summary_seconds
        if not self._unreported_tests or not (force or due):
            return []
        self._last_summary = now
        self._unreported_tests = 0
        return [
            (
                logging.INFO,
                f"{self.label}: {self.models_done} models built, {self.tests_passed} tests "
                f"passed so far ({self.tests_warned} warned, {self.tests_failed} failed)",
            )
        ]

    # ---- failure ---------------------------------------------------------------------------

    def error(self, exit_code: int | None) -> DbtBuildError | None:
        """The error to raise for a dbt invocation that ended with `exit_code` (None: none)."""
        if exit_code == 0 and not self.failed_nodes:
            return None
        models = [e for e in self.failed_nodes.values() if e.resource_type != "test"]
        skipped = f"; {self.skipped} downstream node(s) skipped" if self.skipped else ""
        if models:
            details = "\n".join(
                "- "
                + _compact(
                    error.message
                    or f"{error.resource_type} {error.name} (models/{error.path}) failed, "
                    "without a message from dbt"
                )
                for error in models
            )
            names = ", ".join(error.name for error in models)
            return DbtBuildError(f"{self.label}: dbt could not build {names}{skipped}.\n{details}")
        if self.errored_tests:
            details = "\n".join(
                "- " + _compact(self.failed_nodes[name].message or f"test {name} errored")
                for name in self.errored_tests
                if name in self.failed_nodes
            )
            failing = [t for t in self.failed_tests if t.split(" (")[0] not in self.errored_tests]
            also = f"; tests failed too: {', '.join(failing)}" if failing else ""
            return DbtBuildError(
                f"{self.label}: dbt could not run the test(s) {', '.join(self.errored_tests)} "
                f"(the test's query raised an error: no rows were judged){also}{skipped}.\n"
                f"{details}"
            )
        if self.failed_tests:
            return DbtTestsFailed(
                f"{self.label}: dbt tests failed: {', '.join(self.failed_tests)}"
                f"{skipped}. Every model was built; the failing rows are kept in the build "
                "warehouse's test_failures schema"
            )
        messages = "\n".join(_compact(line) for line in self.error_lines[-5:])
        return DbtBuildError(
            f"{self.label}: dbt exited with code {exit_code}"
            + (f":\n{messages}" if messages else " without naming a node")
        )


def _compact(message: str) -> str:
    """dbt's multi-line error without blank lines, continuation lines indented under the first
    (dbt's own alignment of the `LINE n:` excerpt and its caret kept)."""
    first, *rest = message.strip().splitlines() or [""]
    body = textwrap.dedent("\n".join(line for line in rest if line.strip()))
    return "\n".join([first, *("  " + line for line in body.splitlines())])
