"""The data-quality gates: the suites in `expectations/` as Dagster asset checks.

`build_quality_checks(landing_keys, mart_keys)` returns one multi-asset check per landing
source (`quality_landing_<source>`, after that source's extraction) and one for the
warehouse (`quality_warehouse`, after the marts it checks). Every expectation is its own
asset check, named by its `meta.check`, on the asset in its suite's `meta.asset`; a
`blocking` expectation is a blocking check (severity ERROR: Dagster does not start anything
downstream — in the end the publish — and the run fails), a `warning` one is reported
(severity WARN). The metadata carries `failed_rows`, `sample`, `observed`, `bound` and a
one-line `message`, the keys the run report shows.

The work is `pipelines.quality.runner.run_suites`; Great Expectations is imported there, when
the first check step runs — never when this module or the definitions load.
"""

from collections.abc import Iterable
from pathlib import Path

import dagster as dg

from pipelines.assets.common import FULL_REFRESH_TAG, run_day_range, skipped_this_run, step_log
from pipelines.quality.suites import LandingFrame, Suite, list_checks, load_suites
from pipelines.resources import JourneyResource
from pipelines.settings import EXPECTATIONS_DIR

__all__ = ["build_quality_checks", "list_checks", "quality_check_keys"]

WAREHOUSE_GROUP = "warehouse"


class QualityConfigurationError(ValueError):
    """A suite targets an asset the job does not have (renamed model, removed stream)."""


def _severity(blocking: bool) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN


def _run_days(tags: dict[str, str]) -> int:
    first, last = run_day_range(tags)
    return (last - first).days + 1


def _skipped_streams(
    context: dg.AssetCheckExecutionContext, suites: list[Suite]
) -> dict[tuple[str, ...], str]:
    """Streams this run did not extract (their source is not configured): nothing landed is
    expected, so their suites — the row-count bounds above all — have nothing to judge.
    A configured source that returns nothing is *not* skipped: its bounds still apply."""
    skipped = skipped_this_run(context, [dg.AssetKey(list(suite.asset)) for suite in suites])
    return {tuple(key.path): reason for key, reason in skipped.items()}


def _metadata(outcome) -> dict[str, dg.MetadataValue]:
    metadata: dict[str, dg.MetadataValue] = {}
    for key, value in outcome.metadata().items():
        if isinstance(value, bool):
            metadata[key] = dg.MetadataValue.bool(value)
        elif isinstance(value, int):
            metadata[key] = dg.MetadataValue.int(value)
        elif isinstance(value, float):
            metadata[key] = dg.MetadataValue.float(value)
        elif isinstance(value, (list, dict)):
            metadata[key] = dg.MetadataValue.json(value)
        else:
            metadata[key] = dg.MetadataValue.text(str(value))
    return metadata


def _suite_file(suite: Suite) -> str:
    if suite.path is None:
        return suite.name
    path = suite.path.resolve()
    root = EXPECTATIONS_DIR.resolve()
    return (
        f"expectations/{path.relative_to(root).as_posix()}"
        if path.is_relative_to(root)
        else str(path)
    )


def _group(group: str, suites: list[Suite]) -> dg.AssetChecksDefinition:
    files = {suite.name: _suite_file(suite) for suite in suites}  # resolved once per suite
    specs = [
        dg.AssetCheckSpec(
            name=spec.check,
            asset=dg.AssetKey(list(suite.asset)),
            blocking=spec.blocking,
            description=f"[{spec.severity}] {spec.description} ({files[suite.name]})",
            metadata={"severity": spec.severity, "suite": suite.name, "expectation": spec.type},
        )
        for suite in suites
        for spec in suite.expectations
    ]
    landing = isinstance(suites[0].frame, LandingFrame)

    @dg.multi_asset_check(
        name=f"quality_{group}",
        specs=specs,
        description=f"Great Expectations suites: {', '.join(suite.name for suite in suites)}. "
        "Data Docs in {JOURNEY_DOCS_DIR}/gx/index.html.",
        op_tags={"journey/stage": "quality"},
    )
    def _checks(context: dg.AssetCheckExecutionContext, journey: JourneyResource):
        from pipelines.privacy.samples import SampleGuard
        from pipelines.quality.runner import QualityPaths, RunInfo, run_suites

        settings = journey.settings()
        tags = context.run.tags
        days = _run_days(tags)
        run = RunInfo(
            run_id=context.run.run_id,
            days=days + settings.lookback_days if landing else days,
            full_refresh=tags.get(FULL_REFRESH_TAG, "false").lower() == "true",
        )
        skipped = _skipped_streams(context, suites) if landing else {}
        not_checked = [suite for suite in suites if suite.asset in skipped]
        if not_checked:
            context.log.info(
                f"not checked, their streams were skipped this run: "
                f"{', '.join(suite.name for suite in not_checked)}"
            )
        for suite in not_checked:
            for spec in suite.expectations:
                yield dg.AssetCheckResult(
                    asset_key=dg.AssetKey(list(suite.asset)),
                    check_name=spec.check,
                    passed=True,
                    severity=_severity(spec.blocking),
                    metadata={"message": f"not checked: {skipped[suite.asset]}"},
                    description=f"not checked: {skipped[suite.asset]}",
                )
        checked = [suite for suite in suites if suite.asset not in skipped]
        guard = SampleGuard.from_settings(settings)  # samples like the published tables
        paths = QualityPaths.from_settings(settings)
        with step_log(context):
            outcomes = run_suites(checked, paths, run, guard=guard) if checked else []
        failed = [o for o in outcomes if not o.passed]
        for outcome in failed:
            log = context.log.error if outcome.blocking else context.log.warning
            log(outcome.message)
        context.log.info(
            f"{len(outcomes) - len(failed)} of {len(outcomes)} checks passed; Data Docs: "
            f"{settings.docs_dir / 'gx' / 'index.html'}"
        )
        for outcome in outcomes:
            yield dg.AssetCheckResult(
                asset_key=dg.AssetKey(list(outcome.asset)),
                check_name=outcome.check,
                passed=outcome.passed,
                severity=_severity(outcome.blocking),
                metadata=_metadata(outcome),
                description=outcome.message,
            )

    return _checks


def build_quality_checks(
    landing_keys: Iterable[dg.AssetKey],
    mart_keys: Iterable[dg.AssetKey],
    *,
    suites_dir: Path = EXPECTATIONS_DIR,
) -> list[dg.AssetChecksDefinition]:
    """The asset checks of every suite in `suites_dir`.

    Landing suites must target one of `landing_keys`, warehouse suites one of `mart_keys`
    (dbt models and identity tables); a suite whose asset is missing is an error at load time
    — a renamed model must not silently lose its checks.
    """
    landing = set(landing_keys)
    marts = set(mart_keys)
    groups: dict[str, list[Suite]] = {}
    for suite in load_suites(suites_dir):
        key = dg.AssetKey(list(suite.asset))
        is_landing = isinstance(suite.frame, LandingFrame)
        allowed = landing if is_landing else marts
        if key not in allowed:
            kind = "landing" if is_landing else "warehouse"
            raise QualityConfigurationError(
                f"suite {suite.name} ({suite.path}) checks {kind} asset {key.to_user_string()}, "
                f"which the job does not have; point meta.asset at an existing asset or "
                f"delete the suite"
            )
        group = f"landing_{suite.asset[0]}" if is_landing else WAREHOUSE_GROUP
        groups.setdefault(group, []).append(suite)
    return [_group(name, suites) for name, suites in sorted(groups.items())]


def quality_check_keys(suites_dir: Path = EXPECTATIONS_DIR) -> list[dg.AssetCheckKey]:
    """The keys of every quality check, for selecting or asserting on them."""
    return [
        dg.AssetCheckKey(dg.AssetKey(item["asset"]), item["check"])
        for item in list_checks(suites_dir)
    ]
