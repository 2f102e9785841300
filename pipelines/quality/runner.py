"""Validate pandas frames against the suites with Great Expectations 1.x, in process, and
summarise every expectation as a `CheckOutcome`: passed or not, how many rows failed, a few
offending rows, the observed value and the bound, a one-line message.

`import great_expectations` takes seconds, so it happens inside `GxSession` only (once per
process: Python caches the module); nothing imports this module's GX parts at load time.
The GX context is ephemeral (in-memory stores); the only files it writes are the Data Docs
pages under the site folder given to it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.console import format_seconds
from pipelines.privacy.samples import SampleGuard
from pipelines.quality.frames import landing_frame, warehouse_frame
from pipelines.quality.pushdown import (
    Reduced,
    computable,
    reduce_pandas,
    reduce_warehouse,
    supports,
)
from pipelines.quality.row_counts import (
    STATE_FILE_NAME,
    Baseline,
    ResolvedBounds,
    read_baselines,
    record_baseline,
    resolve_bounds,
)
from pipelines.quality.suites import (
    ROW_COUNT_EXPECTATION,
    ExpectationSpec,
    LandingFrame,
    Suite,
    WarehouseFrame,
)
from pipelines.settings import DuckdbLimits, Settings

log = logging.getLogger("journey.quality")

SAMPLE_ROWS = 5
UNEXPECTED_VALUES = 20
SAMPLE_TEXT_LIMIT = 200
GX_SEVERITY = {"blocking": "critical", "warning": "warning"}
DATASOURCE = "journey"
OFFLINE_VIEW = {"module_name": "pipelines.quality.docs_view", "class_name": "OfflinePageView"}


@dataclass(frozen=True)
class RunInfo:
    """What the checks need to know about the run."""

    run_id: str
    days: int = 1
    """Days of data the run reads, for per-day row-count comparisons: the partition days,
    plus the extraction lookback for landing checks."""
    full_refresh: bool = False
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))
    """UTC, naive: the `now_utc` suite parameter ("not in the future")."""


@dataclass(frozen=True)
class QualityPaths:
    landing_dir: Path
    warehouse_path: Path
    """The warehouse the warehouse suites query: the run's *build* warehouse."""
    state_file: Path
    docs_dir: Path
    """Data Docs site folder (`{docs_dir}/gx`)."""
    duckdb_limits: DuckdbLimits | None = None
    """The memory ceiling and spill folder of the warehouse suites' DuckDB queries."""

    @classmethod
    def from_settings(cls, settings: Settings) -> QualityPaths:
        return cls(
            landing_dir=settings.landing_dir,
            warehouse_path=settings.build_warehouse_path,
            state_file=settings.state_dir / STATE_FILE_NAME,
            docs_dir=settings.docs_dir / "gx",
            duckdb_limits=settings.duckdb_limits,
        )


@dataclass(frozen=True)
class CheckOutcome:
    suite: str
    asset: tuple[str, ...]
    check: str
    severity: str
    passed: bool
    expectation: str
    description: str
    message: str
    rows: int | None = None
    """Rows in the frame (None when the frame could not be built)."""
    failed_rows: int | None = None
    """Rows that break a row-level expectation (None for table-level ones, e.g. row count)."""
    sample: list[dict[str, Any]] = field(default_factory=list)
    observed: Any = None
    bound: Any = None
    basis: str | None = None
    """Where a bound came from (row counts: the previous run)."""
    unexpected_values: list[dict[str, Any]] | None = None
    """Values outside an expected set and their row counts, most frequent first
    (`expect_column_values_to_be_in_set` only)."""
    frame_seconds: float | None = None
    """Seconds to build the suite's frame (DuckDB), shared by the suite's checks."""
    validate_seconds: float | None = None
    """Seconds GX took to validate the suite's frame (all its checks in one validation)."""

    @property
    def blocking(self) -> bool:
        return self.severity == "blocking"

    def metadata(self) -> dict[str, Any]:
        """JSON-able check metadata, in the keys the run report reads."""
        data: dict[str, Any] = {
            "suite": self.suite,
            "severity": self.severity,
            "expectation": self.expectation,
            "message": self.message,
        }
        for key in ("rows", "failed_rows", "observed", "bound", "basis", "unexpected_values",
                    "frame_seconds", "validate_seconds"):  # fmt: skip
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.failed_rows:
            data["sample"] = self.sample
        return data

    def as_dict(self) -> dict[str, Any]:
        return {
            "asset": list(self.asset),
            "check": self.check,
            "passed": self.passed,
            "blocking": self.blocking,
            "description": self.description,
            **self.metadata(),
            "sample": self.sample,
        }


# -------------------------------------------------------------------------------------------
# JSON-able values
# -------------------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """numpy/pandas scalars, timestamps and NaN made plain JSON values."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, int):
        return value
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(item) for item in value]
    if hasattr(value, "item"):  # numpy scalar
        return jsonable(value.item())
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def sample_rows(frame: pd.DataFrame, index: Iterable[Any]) -> list[dict[str, Any]]:
    """The frame's rows at `index` (at most SAMPLE_ROWS), as JSON records, long text cut."""
    labels = [label for label in list(index)[:SAMPLE_ROWS] if label in frame.index]
    if not labels:
        return []
    records = json.loads(
        frame.loc[labels].to_json(orient="records", date_format="iso", default_handler=str)
    )
    return [
        {
            key: (value[:SAMPLE_TEXT_LIMIT] + "…")
            if isinstance(value, str) and len(value) > SAMPLE_TEXT_LIMIT
            else value
            for key, value in record.items()
        }
        for record in records
    ]


# -------------------------------------------------------------------------------------------
# GX
# -------------------------------------------------------------------------------------------


def import_gx():
    """Import Great Expectations with analytics off (seconds, once per process)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    if "great_expectations" not in sys.modules:
        log.info("checks: loading Great Expectations (once per process, about 10 s)")
    with warnings.catch_warnings():
        # GX imports pyspark when it is installed, which warns about pandas 3 on every import
        warnings.filterwarnings("ignore", message="PySpark does not yet", category=FutureWarning)
        import great_expectations

    return great_expectations


class GxSession:
    """An ephemeral GX context; Data Docs go to `site_dir` when one is given."""

    SITE = "journey"

    def __init__(self, site_dir: Path | None = None, guard: SampleGuard | None = None) -> None:
        self.guard = guard or SampleGuard(None)
        gx = import_gx()
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        sites = {}
        if site_dir is not None:
            sites[self.SITE] = {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(Path(site_dir).resolve()),
                },
                "site_index_builder": {
                    "class_name": "DefaultSiteIndexBuilder",
                    "show_cta_footer": False,
                },
                # GX's pages through our offline view (pipelines/quality/docs_view.py)
                "site_section_builders": {
                    "expectations": {"view": OFFLINE_VIEW},
                    "validations": {"view": OFFLINE_VIEW},
                    "profiling": "None",  # GX's own way of saying: no such section
                },
            }
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            data_docs_sites=sites,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            analytics_enabled=False,
        )
        self.gx = gx
        self.site_dir = site_dir
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self.datasource = self.context.data_sources.add_pandas(DATASOURCE)
        self._names: set[str] = set()
        self.validated: list[tuple[Any, list[Any]]] = []
        """(suite identifier, [validation result identifiers]) of every validation so far."""

    def validate(
        self,
        suite: Suite,
        frame: pd.DataFrame,
        *,
        run: RunInfo,
        row_count_bounds: dict[str, ResolvedBounds],
        reduced: Reduced | None = None,
    ):
        """Run `suite` on `frame`; returns the GX suite validation result and the aliases:
        GX keeps one of several identical expectations (same type and kwargs, e.g. two
        row-count bounds that both resolve to "at least 0" on a first run), so a dropped
        check takes the result of the one kept (`{dropped check: kept check}`).

        With `reduced` (a warehouse suite pushed down to DuckDB, `pushdown.py`), `frame` holds
        only the offending rows: GX judges them, and the whole frame's counts from DuckDB
        replace the ones GX saw, before anything is stored or summarised."""
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.expectations.expectation_configuration import (
            ExpectationConfiguration,
        )

        gx_suite = self.gx.ExpectationSuite(
            name=suite.name, meta={"asset": suite.asset_label, "notes": suite.description}
        )
        kept: dict[str, str] = {}
        aliases: dict[str, str] = {}
        for spec in suite.expectations:
            kwargs = dict(spec.kwargs)
            if spec.check in row_count_bounds:
                resolved = row_count_bounds[spec.check]
                kwargs = {"min_value": resolved.min_value, "max_value": resolved.max_value}
            identity = json.dumps([spec.type, kwargs], sort_keys=True, default=str)
            if identity in kept:
                aliases[spec.check] = kept[identity]
                continue
            kept[identity] = spec.check
            # `add_expectation` keeps two expectations of one type on one column (the
            # configuration API would upsert them by domain and silently drop one)
            gx_suite.add_expectation(
                ExpectationConfiguration(
                    type=spec.type,
                    kwargs=kwargs,
                    meta={**spec.meta, "notes": spec.description},
                    severity=GX_SEVERITY[spec.severity],
                ).to_domain_obj()
            )
        self._forget(suite.name)
        gx_suite = self.context.suites.add(gx_suite)
        asset = self.datasource.add_dataframe_asset(suite.name)
        batch = asset.add_batch_definition_whole_dataframe("frame")
        definition = self.context.validation_definitions.add(
            self.gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite)
        )
        known = set(self.context.validation_results_store.list_keys())
        result = definition.run(
            batch_parameters={"dataframe": frame},
            expectation_parameters={"now_utc": run.now},
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20},
            run_id=RunIdentifier(run_name=run.run_id, run_time=datetime.now(UTC)),
        )
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
        )

        store = self.context.validation_results_store
        added = [key for key in store.list_keys() if key not in known]
        if reduced is not None:
            apply_counts(result, reduced)
        # GX keeps the unexpected values it saw; its Data Docs pages show them
        self.protect(result)
        for key in added:
            store.set(key, result)
        self.validated.append((ExpectationSuiteIdentifier(name=suite.name), added))
        return result, aliases

    def protect(self, validation: Any) -> None:
        """Replace the personal values GX kept in a validation result (pipelines.privacy)."""
        for item in validation.results:
            if item.result:
                column = item.expectation_config.kwargs.get("column")
                item.result = self.guard.protect(jsonable(dict(item.result)), column=column)

    def _forget(self, name: str) -> None:
        """Drop an earlier validation of the same suite in this session (re-validation)."""
        if name not in self._names:
            self._names.add(name)
            return
        self.context.validation_definitions.delete(name)
        self.context.suites.delete(name)
        self.datasource.delete_asset(name)


def _exception_message(info: Any) -> str | None:
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "exception")
    for value in info.values():
        message = _exception_message(value)
        if message:
            return message
    return None


def _bound(spec_type: str, kwargs: dict[str, Any]) -> Any:
    if "min_value" in kwargs or "max_value" in kwargs:
        return jsonable({"min": kwargs.get("min_value"), "max": kwargs.get("max_value")})
    if "value_set" in kwargs:
        return jsonable(kwargs["value_set"])
    if "regex" in kwargs:
        return kwargs["regex"]
    return None


def summarise(
    suite: Suite,
    frame: pd.DataFrame,
    validation: Any,
    row_count_bounds: dict[str, ResolvedBounds] | None = None,
    aliases: dict[str, str] | None = None,
    guard: SampleGuard | None = None,
    reduced: Reduced | None = None,
) -> list[CheckOutcome]:
    """One outcome per expectation of `suite`, in suite order; samples and observed values
    pass `guard` (masked when none is given). With `reduced`, `frame` holds the offending rows
    only and the row count and value counts are the whole frame's, from DuckDB."""
    guard = guard or SampleGuard(None)
    rows = reduced.rows if reduced is not None else len(frame)
    row_count_bounds = row_count_bounds or {}
    aliases = aliases or {}
    by_check = {
        result.expectation_config.meta.get("check"): result for result in validation.results
    }
    outcomes = []
    for spec in suite.expectations:
        result = by_check.get(aliases.get(spec.check, spec.check))
        if result is None:
            outcomes.append(
                _failed(suite, spec, "GX returned no result for this expectation", rows)
            )
            continue
        outcomes.append(
            _outcome(
                suite, spec, frame, result, row_count_bounds.get(spec.check), guard, rows, reduced
            )
        )
    return outcomes


def _outcome(
    suite: Suite,
    spec: ExpectationSpec,
    frame: pd.DataFrame,
    result: Any,
    resolved: ResolvedBounds | None,
    guard: SampleGuard,
    rows: int,
    reduced: Reduced | None,
) -> CheckOutcome:
    details = result.result or {}
    kwargs = dict(result.expectation_config.kwargs)
    column = kwargs.get("column")
    kwargs.pop("batch_id", None)
    bound = _bound(spec.type, kwargs)
    basis = resolved.explanation if resolved else None
    error = _exception_message(result.exception_info)
    where = f"{suite.asset_label}: {spec.check} [{spec.severity}]"
    if error:
        return _failed(suite, spec, f"could not be evaluated: {error}", rows, bound=bound)
    failed_rows = details.get("unexpected_count")
    observed = guard.protect(jsonable(details.get("observed_value")), column=column)
    unexpected_values = None
    sample: list[dict[str, Any]] = []
    if failed_rows is not None:
        failed_rows = int(failed_rows)
        sample = sample_rows(frame, details.get("partial_unexpected_index_list") or [])
        if failed_rows and not sample:
            values = details.get("partial_unexpected_list") or []
            sample = [{column or "value": jsonable(value)} for value in values[:SAMPLE_ROWS]]
        sample = guard.protect_rows(sample)
        checked = details.get("element_count", rows)
        if failed_rows and reduced is not None:
            counts = reduced.counts.get(spec.check)
            values = counts.unexpected_values if counts else None
            unexpected_values = jsonable(values) if values is not None else None
        elif failed_rows:
            unexpected_values = _unexpected_values(spec.type, kwargs, frame)
        if result.success:
            message = f"{where} passed on {checked} rows"
        else:
            message = f"{where} failed on {failed_rows} of {checked} rows: {spec.description}"
    elif result.success:
        message = f"{where} passed (observed {json.dumps(observed, default=str)})"
    else:
        message = (
            f"{where} failed: observed {json.dumps(observed, default=str)}, expected "
            f"{json.dumps(bound, default=str)}: {spec.description}"
        )
        if basis:
            message += f" ({basis})"
    return CheckOutcome(
        suite=suite.name,
        asset=suite.asset,
        check=spec.check,
        severity=spec.severity,
        passed=bool(result.success),
        expectation=spec.type,
        description=spec.description,
        message=message,
        rows=rows,
        failed_rows=failed_rows,
        sample=sample,
        observed=observed,
        bound=bound,
        basis=basis,
        unexpected_values=unexpected_values,
    )


def _unexpected_values(
    expectation: str, kwargs: dict[str, Any], frame: pd.DataFrame
) -> list[dict[str, Any]] | None:
    """For a check on a set of values (an enumeration a vendor may extend): every value outside
    the set and how many rows carry it, most frequent first (at most UNEXPECTED_VALUES),
    counted over the whole frame (GX itself keeps only the first unexpected rows). Other
    checks' values may be personal data (e-mails): they get none, only the usual sample."""
    column = kwargs.get("column")
    if (
        expectation != "expect_column_values_to_be_in_set"
        or column not in frame
        or "row_condition" in kwargs
    ):
        return None
    values = frame[column]
    counts = values[values.notna() & ~values.isin(list(kwargs["value_set"]))].value_counts()
    with contextlib.suppress(TypeError):  # ties by value, where values compare
        counts = counts.sort_index().sort_values(ascending=False, kind="stable")
    return [
        {"value": jsonable(value), "count": int(count)}
        for value, count in counts.head(UNEXPECTED_VALUES).items()
    ]


def _failed(
    suite: Suite, spec: ExpectationSpec, reason: str, rows: int | None, bound: Any = None
) -> CheckOutcome:
    return CheckOutcome(
        suite=suite.name,
        asset=suite.asset,
        check=spec.check,
        severity=spec.severity,
        passed=False,
        expectation=spec.type,
        description=spec.description,
        message=f"{suite.asset_label}: {spec.check} [{spec.severity}] {reason}",
        rows=rows,
        bound=bound,
    )


def frame_failed(suite: Suite, error: BaseException) -> list[CheckOutcome]:
    """Every check of a suite whose frame could not be built fails, saying why."""
    reason = f"could not build the frame: {type(error).__name__}: {error}".splitlines()[0]
    return [_failed(suite, spec, reason, None) for spec in suite.expectations]


# -------------------------------------------------------------------------------------------
# Running suites
# -------------------------------------------------------------------------------------------


def row_count_bounds_for(
    suite: Suite, previous: Baseline | None, run: RunInfo
) -> dict[str, ResolvedBounds]:
    return {
        spec.check: resolve_bounds(
            spec.row_count_bounds, previous, days=run.days, full_refresh=run.full_refresh
        )
        for spec in suite.expectations
        if spec.row_count_bounds is not None
    }


def validate_frame(
    suite: Suite,
    frame: pd.DataFrame,
    run: RunInfo | None = None,
    *,
    previous: Baseline | None = None,
    session: GxSession | None = None,
    reduced: Reduced | None = None,
) -> list[CheckOutcome]:
    """Validate one frame against one suite (no Data Docs unless `session` has a site;
    samples pass the session's guard). With `reduced`, `frame` is `reduced.frame`: the
    offending rows of a suite pushed down to DuckDB."""
    run = run or RunInfo(run_id="adhoc")
    session = session or GxSession()
    bounds = row_count_bounds_for(suite, previous, run)
    validation, aliases = session.validate(
        suite, frame, run=run, row_count_bounds=bounds, reduced=reduced
    )
    return summarise(suite, frame, validation, bounds, aliases, session.guard, reduced)


def validate_warehouse(
    suite: Suite,
    warehouse_path: Path,
    run: RunInfo | None = None,
    *,
    previous: Baseline | None = None,
    session: GxSession | None = None,
) -> list[CheckOutcome]:
    """A warehouse suite validated as the nightly job does: pushed down to DuckDB when
    `pushdown.supports` it, else GX on the whole frame."""
    run = run or RunInfo(run_id="adhoc")
    assert isinstance(suite.frame, WarehouseFrame)
    if not supports(suite):
        frame = warehouse_frame(warehouse_path, suite.frame)
        return validate_frame(suite, frame, run, previous=previous, session=session)
    reduced = reduce_warehouse(warehouse_path, suite.frame, suite, resolved_kwargs(suite, run))
    return validate_frame(
        suite, reduced.frame, run, previous=previous, session=session, reduced=reduced
    )


def validate_pushed_down(
    suite: Suite,
    frame: pd.DataFrame,
    run: RunInfo | None = None,
    *,
    previous: Baseline | None = None,
    session: GxSession | None = None,
) -> list[CheckOutcome]:
    """`frame` validated the way warehouse suites are: reduced in DuckDB, the offending rows
    validated by GX (the tests compare this with `validate_frame` on the whole frame)."""
    if not computable(suite):
        raise ValueError(
            f"suite {suite.name} has expectations DuckDB does not compute "
            "(pushdown.SUPPORTED): validate it with validate_frame"
        )
    run = run or RunInfo(run_id="adhoc")
    reduced = reduce_pandas(frame, suite, resolved_kwargs(suite, run))
    return validate_frame(
        suite, reduced.frame, run, previous=previous, session=session, reduced=reduced
    )


def resolved_kwargs(suite: Suite, run: RunInfo) -> dict[str, dict[str, Any]]:
    """Each expectation's kwargs with its suite parameters (`now_utc`) resolved by GX."""
    import_gx()
    from great_expectations.core.suite_parameters import build_suite_parameters

    return {
        spec.check: build_suite_parameters(dict(spec.kwargs), {"now_utc": run.now})[0]
        for spec in suite.expectations
    }


def apply_counts(validation: Any, reduced: Reduced) -> None:
    """Put the whole frame's counts (DuckDB) into GX's results on the offending rows.

    GX's verdict on the offending rows must match DuckDB's count (a row-level check fails
    iff some row breaks it); if they disagree the check fails as not evaluable, never
    passes silently. A row-count check's observed value is the whole frame's row count.
    """
    rows = reduced.rows
    for item in validation.results:
        check = item.expectation_config.meta.get("check")
        details = dict(item.result or {})
        if _exception_message(item.exception_info):
            continue
        if check in reduced.errors:
            item.success = False
            item.exception_info = {
                "raised_exception": True,
                "exception_message": reduced.errors[check],
            }
            continue
        if item.expectation_config.type == ROW_COUNT_EXPECTATION:
            kwargs = item.expectation_config.kwargs
            low, high = kwargs.get("min_value"), kwargs.get("max_value")
            item.success = (low is None or rows >= low) and (high is None or rows <= high)
            details["observed_value"] = rows
            item.result = details
            continue
        counts = reduced.counts.get(check)
        if counts is None:
            continue
        if bool(details.get("unexpected_count")) != bool(counts.unexpected):
            item.success = False
            item.exception_info = {
                "raised_exception": True,
                "exception_message": (
                    f"GX found {details.get('unexpected_count')} offending rows among the "
                    f"{len(reduced.frame)} handed to it, DuckDB {counts.unexpected} in the "
                    f"whole frame; they must agree"
                ),
            }
            continue
        present = rows - counts.missing
        details.update(
            element_count=rows,
            missing_count=counts.missing,
            missing_percent=100 * counts.missing / rows if rows else None,
            unexpected_count=counts.unexpected,
            unexpected_percent=100 * counts.unexpected / present if present else None,
            unexpected_percent_total=100 * counts.unexpected / rows if rows else None,
            unexpected_percent_nonmissing=100 * counts.unexpected / present if present else None,
        )
        item.result = details
    validation.success = all(item.success for item in validation.results)
    statistics = dict(validation.statistics or {})
    if statistics:
        successful = sum(1 for item in validation.results if item.success)
        evaluated = len(validation.results)
        statistics.update(
            successful_expectations=successful,
            unsuccessful_expectations=evaluated - successful,
            success_percent=100 * successful / evaluated if evaluated else None,
        )
        validation.statistics = statistics


def load_frame(suite: Suite, paths: QualityPaths, run: RunInfo) -> pd.DataFrame:
    if isinstance(suite.frame, LandingFrame):
        return landing_frame(paths.landing_dir, suite.frame, run.run_id)
    return warehouse_frame(paths.warehouse_path, suite.frame)


def _should_record(suite: Suite, outcomes: Sequence[CheckOutcome], run: RunInfo) -> bool:
    """A suite's row count becomes the next baseline unless one of its blocking checks failed
    (bad data is no baseline) or it is a full refresh compared per day."""
    specs = [spec for spec in suite.expectations if spec.row_count_bounds is not None]
    if not specs:
        return False
    if run.full_refresh and any(spec.row_count_bounds.per_run_day for spec in specs):
        return False  # a full refresh's volume is no baseline for a nightly run
    return not any(o.blocking and not o.passed for o in outcomes)


def run_suites(
    suites: Sequence[Suite],
    paths: QualityPaths,
    run: RunInfo,
    *,
    frame_loader: Callable[[Suite], pd.DataFrame] | None = None,
    guard: SampleGuard | None = None,
) -> list[CheckOutcome]:
    """Validate every suite, keep row-count baselines, and write the Data Docs.

    `guard` pseudonymises (or masks) the personal values of samples, everywhere they go:
    outcomes, Dagster metadata, our index page and GX's own pages (default: masked).

    Never raises for bad data or a frame that cannot be built: those become failed outcomes
    (with the reason), so a run always reports every check. The Data Docs are written even
    when checks fail — that is when they matter most.
    """
    from pipelines.quality.docs import DocsSite

    site = DocsSite(paths.docs_dir)
    site.begin(run.run_id)
    session = GxSession(site.root, guard)
    baselines = read_baselines(paths.state_file)
    outcomes: list[CheckOutcome] = []
    total = sum(len(suite.expectations) for suite in suites)
    try:
        for number, suite in enumerate(suites, start=1):
            started = time.perf_counter()
            reduced: Reduced | None = None
            try:
                if frame_loader:
                    frame = frame_loader(suite)
                elif isinstance(suite.frame, WarehouseFrame) and supports(suite):
                    # counts in DuckDB; GX sees the offending rows only (pushdown.py)
                    reduced = reduce_warehouse(
                        paths.warehouse_path,
                        suite.frame,
                        suite,
                        resolved_kwargs(suite, run),
                        paths.duckdb_limits,
                    )
                    frame = reduced.frame
                else:
                    frame = load_frame(suite, paths, run)
            except Exception as error:  # reported as failed checks, with the reason
                suite_outcomes = frame_failed(suite, error)
                site.record(suite, suite_outcomes, identifiers=None)
                outcomes.extend(suite_outcomes)
                _log_suite(
                    number, len(suites), suite, suite_outcomes, len(outcomes), total, started
                )
                continue
            loaded = time.perf_counter()
            previous = baselines.get(suite.name)
            suite_outcomes = validate_frame(
                suite, frame, run, previous=previous, session=session, reduced=reduced
            )
            suite_outcomes = _timed(suite_outcomes, loaded - started, time.perf_counter() - loaded)
            if _should_record(suite, suite_outcomes, run):
                record_baseline(
                    paths.state_file,
                    suite.name,
                    rows=reduced.rows if reduced is not None else len(frame),
                    days=run.days,
                    run_id=run.run_id,
                    full_refresh=run.full_refresh,
                )
            site.record(suite, suite_outcomes, identifiers=session.validated[-1])
            outcomes.extend(suite_outcomes)
            _log_suite(number, len(suites), suite, suite_outcomes, len(outcomes), total, started)
    finally:
        site.publish(session)
    return outcomes


def _timed(
    outcomes: Sequence[CheckOutcome], frame_seconds: float, validate_seconds: float
) -> list[CheckOutcome]:
    """The outcomes with their suite's frame and validation seconds (the run report's timings)."""
    return [
        replace(
            outcome,
            frame_seconds=round(frame_seconds, 3),
            validate_seconds=round(validate_seconds, 3),
        )
        for outcome in outcomes
    ]


def _log_suite(
    number: int,
    suites: int,
    suite: Suite,
    outcomes: Sequence[CheckOutcome],
    done: int,
    total: int,
    started: float,
) -> None:
    """One progress line per suite: checks n of N, and this suite's verdicts."""
    failed = sum(1 for o in outcomes if not o.passed and o.blocking)
    warned = sum(1 for o in outcomes if not o.passed and not o.blocking)
    log.info(
        "checks %d of %d (suite %d of %d) %s: %d passed, %d warned, %d failed on %s rows (%s)",
        done,
        total,
        number,
        suites,
        suite.name,
        len(outcomes) - failed - warned,
        warned,
        failed,
        next((f"{o.rows:,}" for o in outcomes if o.rows is not None), "no"),
        format_seconds(time.perf_counter() - started),
    )
