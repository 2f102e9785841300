"""The journey report: a nightly, data-driven journey map over the published warehouse.

`build_report` writes one self-contained HTML page (the map, flows, attribution, support,
freshness and trust; every script inlined) and a PNG of the map; `build_person_report` writes
one person's timeline. Pure modules, no Dagster: the asset (`pipelines.assets.report`) and
the CLI (`python -m pipelines report`) are thin wrappers. The modules, one per concern:

reader       read-only access to the published file; `Evidence` (mart + columns) per query
period       the period and the previous one of equal length; months of monthly marts
phases       the configured phases and which phase each KPI family belongs to
journey_map  the map's figures per phase;  kpis  the KPI registry over the KPI marts
flows, attribution, support, person  the other sections' queries
trust        data range and run facts;  compare  changes, formats and cell colours
figures      Plotly charts;  page, header, person_page  HTML;  image  PNG via Chromium
sections     the map, flows, attribution and support sections;  build  puts it together
"""

from pipelines.report.build import ReportResult, build_person_report, build_report

__all__ = ["ReportResult", "build_person_report", "build_report"]
