"""The quarantine gate as blocking asset checks: one `quarantine_gate` check per landing stream.

A failing gate is a failed blocking check, so write-audit-publish's own mechanism holds the
night back: Dagster starts nothing downstream of the stream (in the end, the publish) and the
run report names the stream, the counts, the top reasons and a masked sample in its "why not
published" line. The rules are `pipelines.quality.gate`; this module only wires them.
"""

from collections.abc import Iterable

import dagster as dg

from pipelines.assets.common import is_full_refresh, run_days, skipped_this_run
from pipelines.extract.registry import registry
from pipelines.quality.gate import (
    GATE_CHECK,
    STATE_FILE_NAME,
    judge_night,
    measure_night,
    read_state,
    record_state,
)
from pipelines.resources import JourneyResource


def arrival(source: str, stream: str) -> str:
    """The stream's registry `arrival` (a stream the registry does not declare: steady)."""
    declared = registry().get(source)
    decl = declared.streams.get(stream) if declared else None
    return decl.arrival if decl else "steady"


def _metadata(values: dict) -> dict[str, dg.MetadataValue]:
    return {
        key: dg.MetadataValue.json(value)
        if isinstance(value, (list, dict))
        else dg.MetadataValue.float(value)
        if isinstance(value, float)
        else dg.MetadataValue.int(value)
        if isinstance(value, int)
        else dg.MetadataValue.text(str(value))
        for key, value in values.items()
    }


def build_quarantine_gate(landing_keys: Iterable[dg.AssetKey]) -> dg.AssetChecksDefinition:
    keys = sorted(landing_keys, key=lambda key: key.to_user_string())
    specs = [
        dg.AssetCheckSpec(
            name=GATE_CHECK,
            asset=key,
            blocking=True,
            description="[blocking] The night publishes only if this stream quarantined at most "
            "JOURNEY_QUARANTINE_MAX_SHARE (default 1 %) of its records, not all of them, and did "
            "not land nothing where records were due (pipelines/quality/gate.py).",
            metadata={"severity": "blocking"},
        )
        for key in keys
    ]

    @dg.multi_asset_check(
        name=GATE_CHECK,
        specs=specs,
        description="Quarantined share per stream and night; a stream that vanished.",
        op_tags={"journey/stage": "quality"},
        can_subset=True,  # a run that materializes some streams judges just those
    )
    def _gate(context: dg.AssetCheckExecutionContext, journey: JourneyResource):
        settings = journey.settings()
        first, last = run_days(context)
        if is_full_refresh(context):
            window_days = (last - min(first, settings.partitions_start)).days + 1
        else:
            window_days = (last - first).days + 1 + settings.lookback_days
        state_path = settings.state_dir / STATE_FILE_NAME
        state = read_state(state_path)
        selected = [
            key
            for key in keys
            if dg.AssetCheckKey(key, GATE_CHECK) in context.selected_asset_check_keys
        ]
        skipped = skipped_this_run(context, selected)
        passing = {}
        for key in selected:  # one per stream (two dozen), each measured in DuckDB
            source, stream = key.path
            if key in skipped:
                yield dg.AssetCheckResult(
                    asset_key=key,
                    check_name=GATE_CHECK,
                    passed=True,
                    metadata={"message": f"not checked: {skipped[key]}"},
                    description=f"not checked: {skipped[key]}",
                )
                continue
            night = measure_night(
                settings.landing_dir, settings.quarantine_dir, source, stream, context.run.run_id
            )
            label = f"{source}/{stream}"
            verdict = judge_night(
                night,
                max_share=settings.quarantine_max_share,
                previous=state.get(label),
                window_days=window_days,
                steady=arrival(source, stream) == "steady",
            )
            if verdict.passed:
                passing[label] = {"landed": night.landed, "days": window_days}
            else:
                context.log.error(verdict.message)
            yield dg.AssetCheckResult(
                asset_key=key,
                check_name=GATE_CHECK,
                passed=verdict.passed,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata=_metadata({**verdict.metadata, "message": verdict.message}),
                description=verdict.message,
            )
        record_state(state_path, passing)

    return _gate
