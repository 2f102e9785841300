"""Why a step failed, in words a morning reader can act on (no Dagster import here).

A step failure arrives as a chain of errors (Dagster's serialisable error info: `cls_name`,
`message`, `cause`, `context`): Dagster's own wrapper ("Error occurred while executing op
…"), then the error our code raised (an `AuthenticationError` naming the vendor's answer, a
`DbtBuildError` naming the model and its database error …), then whatever that was raised
from. `explain_failure` turns it into the failing step, the error our code raised, the
innermost cause, and what to do about it — for the run report and the console alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Dagster's wrappers around the error our code raised (they say where, not why).
WRAPPERS = {"DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError"}
CHECKS_FAILED = {"DagsterAssetCheckFailedError", "DbtTestsFailed"}
INTERRUPTED = {"DagsterExecutionInterruptedError", "KeyboardInterrupt"}

RERUN = "then re-run the night (`python -m pipelines run --date <day>`)"
KEEPS_LIVE = "The last published warehouse stays live until a run passes"


@dataclass(frozen=True)
class Failure:
    step: str
    kind: str
    """extraction | dbt | identity | checks | publish | interrupted | other"""
    error: str
    """The error our code raised, `Class: message` (its whole message)."""
    cause: str
    """The innermost error of the chain, `Class: message` (the same as `error` when our error
    was not raised from another one)."""
    action: str
    """What to do about it."""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def summary(self) -> str:
        """One line for the console and the report's "why not published"."""
        first = _first_line(self.cause if self.kind == "other" else self.error)
        return f"step {self.step} failed: {first}"


def _is_wrapper(error: Any) -> bool:
    """Dagster's step wrappers, and a `dagster.Failure` raised around one of our errors (the
    extraction step marks what a retry cannot fix that way, `from` the error itself)."""
    name = getattr(error, "cls_name", None)
    return name in WRAPPERS or (name == "Failure" and getattr(error, "cause", None) is not None)


def _chain(error: Any) -> list[Any]:
    chain: list[Any] = []
    while error is not None and len(chain) < 20:
        chain.append(error)
        error = getattr(error, "cause", None) or getattr(error, "context", None)
    return chain


def _text(error: Any) -> str:
    """`Class: message`, without the module path Python puts before a class name."""
    name = getattr(error, "cls_name", None) or type(error).__name__
    message = (getattr(error, "message", "") or "").strip()
    head, separator, rest = message.partition(": ")
    if separator and head.split(".")[-1] == name:
        message = rest.strip()
    elif message.split(".")[-1] == name:
        message = ""
    return f"{name}: {message}" if message else name


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else text


def step_kind(step: str) -> str:
    if step.startswith("extract_"):
        return "extraction"
    if step.startswith("dbt_"):
        return "dbt"
    if step.startswith("identity"):
        return "identity"
    if step.startswith("quality_"):
        return "checks"
    if "publish" in step:
        return "publish"
    return "other"


ACTIONS = {
    "AuthenticationError": "The vendor refused the credentials: fix the variables named "
    "above (`python -m pipelines check-connections` tests every vendor in seconds), " + RERUN + ".",
    "RetriesExhaustedError": "The vendor did not answer usefully within the retry budget "
    "(down, throttling, or the network): re-run later; if it persists, raise "
    "JOURNEY_HTTP_MAX_RETRIES / JOURNEY_HTTP_TIMEOUT_SECONDS.",
    "MalformedResponseError": "The vendor kept sending bodies that are not JSON (a proxy or "
    "maintenance page?): check the base URL with `python -m pipelines check-connections`, "
    + RERUN
    + ".",
    "VendorRequestError": "The vendor refused the request itself: check the base URL and ids "
    "named above (`python -m pipelines check-connections`), " + RERUN + ".",
    "PaginationError": "The vendor's paging did not advance: re-run later; if it persists, "
    "report it to the vendor with the path above.",
    "SchemaDriftError": "The vendor no longer sends a field the pipeline needs: see "
    "config/streams/<source>.yml (docs/streams.md) and docs/contracts.md §1, " + RERUN + ".",
    "SettingsError": "A setting is unusable: fix the variable named above, " + RERUN + ".",
}
KIND_ACTIONS = {
    "extraction": "Read the error above; `python -m pipelines check-connections` tests every "
    "vendor's settings. Cursors did not move, so " + RERUN + " and nothing is lost.",
    "dbt": "Open the model named above (and its compiled SQL in the build folder's "
    "dbt_target/compiled), fix the model or the data it reads, " + RERUN + ". dbt's full "
    "output of the run is beside this report (`.dbt.log`) or in the step's logs.",
    "identity": "Identity stitching failed on the evidence: read the error above, fix "
    "config/identity.yml or the erasure file if it is named, " + RERUN + ".",
    "checks": "Blocking data-quality checks failed (listed under Checks, with a sample of the "
    "failing rows; Data Docs in {docs}/gx/index.html). Fix the data at the source or the rule "
    "in expectations/ or the dbt tests, " + RERUN + ".",
    "publish": "Publishing failed before the swap: read the error above (disk space, "
    "permissions, a lock on the warehouse file), " + RERUN + ".",
    "interrupted": "The run was stopped (Ctrl-C, a terminated run or a stopped `make dev`): "
    + RERUN
    + ".",
    "other": "Read the error above and the step's logs in the Dagster UI, " + RERUN + ".",
}


def explain_failure(step: str, error: Any, docs_dir: str = "<docs dir>") -> Failure:
    """The failing step, our error, the innermost cause and what to do, from an error chain."""
    chain = _chain(error)
    ours = [item for item in chain if not _is_wrapper(item)]
    first = ours[0] if ours else (chain[0] if chain else None)
    innermost = chain[-1] if chain else None
    name = getattr(first, "cls_name", "") or ""
    kind = step_kind(step)
    if name in CHECKS_FAILED:
        kind = "checks"
    elif name in INTERRUPTED:
        kind = "interrupted"
    action = (ACTIONS.get(name) or KIND_ACTIONS[kind]).replace("{docs}", docs_dir)
    error_text = _text(first) if first is not None else "unknown error"
    cause_text = _text(innermost) if innermost is not None else error_text
    return Failure(
        step=step,
        kind=kind,
        error=error_text,
        cause=cause_text,
        action=f"{action} {KEEPS_LIVE}." if kind != "interrupted" else action,
    )
