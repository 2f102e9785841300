"""The journey report asset: the HTML journey map of the warehouse just published.

It runs after the publish asset (its only dependency), reads the published file read-only
and writes `{report_dir}/journey_report.html` and the map's PNG beside it
(`pipelines.report`). The run-level facts in the page's header (checks that warned,
quarantined share per stream) are this run's, read from the Dagster event log.
"""

import dagster as dg
from dagster import AssetExecutionContext

from pipelines.assets.publish import PUBLISHED_WAREHOUSE
from pipelines.resources import JourneyResource
from pipelines.run_report import JOURNEY_REPORT_KEY, collect_run_report

REPORTS_GROUP = "reports"


@dg.asset(
    key=JOURNEY_REPORT_KEY,
    deps=[PUBLISHED_WAREHOUSE],
    group_name=REPORTS_GROUP,
    kinds={"html"},
    op_tags={"journey/stage": "report"},
    description="The journey map of the published warehouse (last 30 days of data against the "
    "30 before): one self-contained HTML file in JOURNEY_REPORT_DIR and a PNG of the map.",
)
def journey_report(context: AssetExecutionContext, journey: JourneyResource):
    # Imported here: Plotly takes ~0.5 s to import, which loading the code location need not pay.
    from pipelines.report.build import REPORT_FILE, build_report
    from pipelines.report.trust import facts_from_run

    settings = journey.settings()
    run = collect_run_report(context.instance, context.run_id)
    facts = facts_from_run(run, f"this run's Dagster event log ({context.run_id})")
    result = build_report(settings.warehouse_path, settings.report_dir / REPORT_FILE, facts=facts)
    for note in result.notes:
        context.log.warning(f"journey report: {note}")
    if result.image_note:
        context.log.warning(f"journey report: {result.image_note}")
    context.log.info(f"journey report written to {result.html_path}")
    metadata = {
        "path": dg.MetadataValue.path(str(result.html_path)),
        "url": dg.MetadataValue.url(result.html_path.resolve().as_uri()),
        "period": result.period.label if result.period else "none (no touchpoints yet)",
        "map_image": dg.MetadataValue.path(str(result.image_path))
        if result.image_path
        else (result.image_note or "not written"),
        "seconds": round(result.seconds + result.image_seconds, 2),
    }
    return dg.MaterializeResult(metadata=metadata)
