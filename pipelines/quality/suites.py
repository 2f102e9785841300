"""The version-controlled expectation suites in `expectations/`, read without importing GX.

One JSON file per checked asset (a landed stream or a mart), in Great Expectations' own suite
shape (`name`, `expectations: [{type, kwargs, meta}]`) plus two things GX does not know:

* `meta.asset` — the Dagster asset key the suite checks (`["shopify", "orders"]`,
  `["fct_orders"]`), and `meta.frame` — how the frame under test is built:
  `{"kind": "landing", "fields": {...}}` (the records landed by this run, contract fields
  parsed from the JSON, see `frames.py`) or `{"kind": "warehouse", "query": "select ..."}`
  (a query on the build warehouse; `"table": "marts.x"` is short for `select * from marts.x`).
* per expectation, `meta.check` (the asset check's name, unique per asset) and
  `meta.severity`: `"blocking"` (a failure stops the publish) or `"warning"` (reported).
  `meta.bounds_from_previous_run` turns `expect_table_row_count_to_be_between` into a
  comparison with the previous run (`row_counts.py`).

Everything else in a suite is plain GX and goes to GX unchanged. Reading the suites is cheap
(no GX import), so the Dagster definitions and `list_checks()` can use it at load time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipelines.settings import EXPECTATIONS_DIR

Severity = Literal["blocking", "warning"]
SEVERITIES: tuple[str, ...] = ("blocking", "warning")
FIELD_TYPES: tuple[str, ...] = (
    "text",
    "integer",
    "number",
    "boolean",
    "timestamp_iso",
    "timestamp_unix",
)
ROW_COUNT_EXPECTATION = "expect_table_row_count_to_be_between"
TEXT_SUFFIX = "__text"
"""A typed landing field `f` also gives the frame `f__text`: the raw JSON text (blank = null),
so a suite can say "parseable where present" (`row_condition: f__text.notnull()`)."""

_CHECK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_JSON_PATH = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])+$")


class SuiteError(ValueError):
    """A suite file breaks the format above (the message names the file and the fix)."""


@dataclass(frozen=True)
class RowCountBounds:
    """Bounds on this run's row count relative to the previous run's (`row_counts.py`)."""

    min_ratio: float | None = None
    max_ratio: float | None = None
    slack_rows: int = 0
    per_run_day: bool = False
    """Compare rows per partition day (landing: a backfill lands many days in one run)."""


@dataclass(frozen=True)
class ExpectationSpec:
    check: str
    severity: Severity
    type: str
    kwargs: dict[str, Any]
    meta: dict[str, Any]
    row_count_bounds: RowCountBounds | None = None

    @property
    def blocking(self) -> bool:
        return self.severity == "blocking"

    @property
    def description(self) -> str:
        notes = self.meta.get("notes")
        if notes:
            return str(notes)
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.kwargs.items())
        return f"{self.type}({arguments})"


@dataclass(frozen=True)
class LandingField:
    name: str
    path: str
    type: str


@dataclass(frozen=True)
class LandingFrame:
    source: str
    stream: str
    fields: tuple[LandingField, ...]
    kind: Literal["landing"] = "landing"

    @property
    def columns(self) -> tuple[str, ...]:
        base = ["record_id", "_record_hash", "record_updated_at"]
        for item in self.fields:
            base.append(item.name)
            if item.type != "text":
                base.append(item.name + TEXT_SUFFIX)
        return tuple(base)


@dataclass(frozen=True)
class WarehouseFrame:
    query: str
    kind: Literal["warehouse"] = "warehouse"


@dataclass(frozen=True)
class Suite:
    name: str
    asset: tuple[str, ...]
    description: str
    frame: LandingFrame | WarehouseFrame
    expectations: tuple[ExpectationSpec, ...]
    path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def asset_label(self) -> str:
        return "/".join(self.asset)


def load_suites(directory: Path = EXPECTATIONS_DIR) -> list[Suite]:
    """Every `*.json` suite below `directory`, sorted by name; checks that (asset, check)
    pairs are unique across suites."""
    paths = sorted(Path(directory).rglob("*.json"))
    if not paths:
        raise SuiteError(f"no expectation suites (*.json) below {directory}")
    suites = [load_suite(path) for path in paths]
    seen: dict[tuple[tuple[str, ...], str], Path | None] = {}
    names: dict[str, Path | None] = {}
    for suite in suites:
        if suite.name in names:
            raise SuiteError(
                f"{suite.path}: suite name {suite.name!r} is also used by {names[suite.name]}"
            )
        names[suite.name] = suite.path
        for spec in suite.expectations:
            key = (suite.asset, spec.check)
            if key in seen:
                raise SuiteError(
                    f"{suite.path}: check {spec.check!r} on asset {suite.asset_label} is also "
                    f"defined in {seen[key]}; check names must be unique per asset"
                )
            seen[key] = suite.path
    return sorted(suites, key=lambda suite: suite.name)


def load_suite(path: Path) -> Suite:
    try:
        document = json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise SuiteError(f"{path}: not valid JSON ({error})") from error
    return parse_suite(document, path=Path(path))


def parse_suite(document: dict[str, Any], path: Path | None = None) -> Suite:
    where = str(path) if path else "suite"
    if not isinstance(document, dict):
        raise SuiteError(f"{where}: a suite is a JSON object with name, meta and expectations")
    name = document.get("name")
    meta = document.get("meta") or {}
    if not isinstance(name, str) or not name:
        raise SuiteError(f"{where}: `name` is missing")
    asset = meta.get("asset")
    if not (isinstance(asset, list) and asset and all(isinstance(p, str) and p for p in asset)):
        raise SuiteError(f"{where}: `meta.asset` must be the asset key as a list of strings")
    frame = _parse_frame(meta.get("frame"), tuple(asset), where)
    raw = document.get("expectations")
    if not isinstance(raw, list) or not raw:
        raise SuiteError(f"{where}: `expectations` must be a non-empty list")
    expectations = tuple(_parse_expectation(item, where) for item in raw)
    checks = [spec.check for spec in expectations]
    repeated = sorted({check for check in checks if checks.count(check) > 1})
    if repeated:
        raise SuiteError(f"{where}: check names {repeated} are used twice; give each its own name")
    if isinstance(frame, LandingFrame):
        _check_columns(expectations, set(frame.columns), where)
    return Suite(
        name=name,
        asset=tuple(asset),
        description=str(meta.get("description", "")),
        frame=frame,
        expectations=expectations,
        path=path,
        meta=meta,
    )


def _parse_frame(raw: Any, asset: tuple[str, ...], where: str) -> LandingFrame | WarehouseFrame:
    if not isinstance(raw, dict):
        raise SuiteError(
            f"{where}: `meta.frame` must say how to build the frame (kind landing|warehouse)"
        )
    kind = raw.get("kind")
    if kind == "warehouse":
        query = raw.get("query")
        table = raw.get("table")
        if bool(query) == bool(table):
            raise SuiteError(f"{where}: a warehouse frame has either `query` or `table`")
        if table:
            if not re.fullmatch(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*", table):
                raise SuiteError(f"{where}: `table` must be schema.table, got {table!r}")
            query = f"select * from {table}"
        return WarehouseFrame(query=str(query))
    if kind == "landing":
        if len(asset) != 2:
            raise SuiteError(f"{where}: a landing suite's asset is [source, stream]")
        fields = raw.get("fields")
        if not isinstance(fields, dict) or not fields:
            raise SuiteError(f"{where}: a landing frame lists the contract `fields` to parse")
        return LandingFrame(
            source=asset[0],
            stream=asset[1],
            fields=tuple(_parse_field(name, spec, where) for name, spec in fields.items()),
        )
    raise SuiteError(f"{where}: `meta.frame.kind` must be 'landing' or 'warehouse', got {kind!r}")


def _parse_field(name: str, spec: Any, where: str) -> LandingField:
    if not _FIELD_NAME.match(name) or name.endswith(TEXT_SUFFIX):
        raise SuiteError(f"{where}: field name {name!r} must be an identifier")
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict):
        raise SuiteError(f"{where}: field {name!r} is a type name or {{path, type}}")
    kind = spec.get("type")
    path = spec.get("path", f"$.{name}")
    if kind not in FIELD_TYPES:
        raise SuiteError(
            f"{where}: field {name!r} has type {kind!r}; types are {', '.join(FIELD_TYPES)}"
        )
    if not _JSON_PATH.match(path):
        raise SuiteError(f"{where}: field {name!r} path {path!r} must look like $.a.b or $.a[0].b")
    return LandingField(name=name, path=path, type=kind)


def _parse_expectation(item: Any, where: str) -> ExpectationSpec:
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise SuiteError(f"{where}: every expectation is an object with a `type`")
    kind = item["type"]
    meta = dict(item.get("meta") or {})
    kwargs = dict(item.get("kwargs") or {})
    check = meta.get("check")
    severity = meta.get("severity")
    if not isinstance(check, str) or not _CHECK_NAME.match(check):
        raise SuiteError(
            f"{where}: {kind} needs `meta.check`, an identifier (letters, digits, _) naming the asset check"
        )
    if severity not in SEVERITIES:
        raise SuiteError(
            f"{where}: check {check!r} needs `meta.severity` 'blocking' or 'warning', got {severity!r}"
        )
    bounds = None
    raw_bounds = meta.get("bounds_from_previous_run")
    if raw_bounds is not None:
        if kind != ROW_COUNT_EXPECTATION:
            raise SuiteError(
                f"{where}: {check}: bounds_from_previous_run only applies to {ROW_COUNT_EXPECTATION}"
            )
        if kwargs:
            raise SuiteError(
                f"{where}: {check}: with bounds_from_previous_run leave `kwargs` empty"
            )
        unknown = set(raw_bounds) - {"min_ratio", "max_ratio", "slack_rows", "per_run_day"}
        if unknown:
            raise SuiteError(f"{where}: {check}: unknown bounds keys {sorted(unknown)}")
        bounds = RowCountBounds(
            min_ratio=raw_bounds.get("min_ratio"),
            max_ratio=raw_bounds.get("max_ratio"),
            slack_rows=int(raw_bounds.get("slack_rows", 0)),
            per_run_day=bool(raw_bounds.get("per_run_day", False)),
        )
        if bounds.min_ratio is None and bounds.max_ratio is None:
            raise SuiteError(f"{where}: {check}: give min_ratio, max_ratio or both")
    return ExpectationSpec(
        check=check, severity=severity, type=kind, kwargs=kwargs, meta=meta, row_count_bounds=bounds
    )


def expectation_columns(spec: ExpectationSpec) -> set[str]:
    """Columns an expectation reads (for the static check of landing suites)."""
    columns = set()
    for key in ("column", "column_A", "column_B"):
        if isinstance(spec.kwargs.get(key), str):
            columns.add(spec.kwargs[key])
    for key in ("column_list",):
        if isinstance(spec.kwargs.get(key), list):
            columns.update(spec.kwargs[key])
    condition = spec.kwargs.get("row_condition")
    if isinstance(condition, str):
        columns.update(
            re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*\.\s*(?:notnull|isnull)\(\)", condition)
        )
    return columns


def _check_columns(
    expectations: tuple[ExpectationSpec, ...], columns: set[str], where: str
) -> None:
    for spec in expectations:
        missing = sorted(expectation_columns(spec) - columns)
        if missing:
            raise SuiteError(
                f"{where}: check {spec.check!r} reads {missing}, which the landing frame does not "
                f"have; add them to meta.frame.fields (frame columns: {sorted(columns)})"
            )


def list_checks(directory: Path = EXPECTATIONS_DIR) -> list[dict[str, Any]]:
    """Every check the suites define: asset, check name, severity, what it expects, suite file.

    The catalogue for reviews, the run report and end-to-end tests (which corruption trips
    which check), in suite order.
    """
    return [
        {
            "asset": list(suite.asset),
            "check": spec.check,
            "severity": spec.severity,
            "blocking": spec.blocking,
            "expectation": spec.type,
            "kwargs": spec.kwargs,
            "description": spec.description,
            "suite": suite.name,
            "path": str(suite.path) if suite.path else None,
        }
        for suite in load_suites(directory)
        for spec in suite.expectations
    ]
