"""The quality Data Docs of a run: `{docs_dir}/gx/` (JOURNEY_DOCS_DIR, default
`<warehouse folder>/docs`), to open from disk in a browser, no server, no network.

* `index.html` — our page: the run, the verdict (did blocking checks pass?), every failed
  and warned check with failed rows, message and sample, every suite with links to the GX
  pages, and the dbt docs (`../dbt/index.html`) when they exist.
* `validations/…`, `expectations/…` — GX's own Data Docs pages for each validation and
  suite, rendered by GX through our offline view (`pipelines.quality.docs_view`): styled by
  GX's stylesheet and ours, scripted by ours, all in `static/` beside this page — no CDN, no
  vendor footer, helper columns labelled.
* `outcomes/<suite>.json` — every check's outcome, machine-readable.
* `run.json` — which run the folder belongs to. The first check step of a new run empties the
  folder, so it always shows one run; each later step of the same run adds its suites.
"""

from __future__ import annotations

import html
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pipelines.console import announce
from pipelines.quality.suites import TEXT_SUFFIX, Suite

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 1.5rem;
       color: #1d232a; line-height: 1.4; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #c9d1d9; padding: 0.3rem 0.6rem; vertical-align: top; text-align: left; }
th { background: #f0f3f6; }
pre, code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.85rem; }
pre { white-space: pre-wrap; margin: 0; max-width: 60rem; }
.failed { color: #b42318; font-weight: 600; }
.warned { color: #9a6700; font-weight: 600; }
.passed { color: #1a7f37; }
.verdict { padding: 0.8rem 1rem; border-radius: 6px; margin: 1rem 0; }
.verdict.failed { background: #fdecea; }
.verdict.passed { background: #e8f5ec; }
nav.journey { margin-bottom: 1rem; }
.fa-check-circle::before, .fa-check::before { content: "✔ "; color: #1a7f37; }
.fa-times::before, .fa-times-circle::before, .fa-exclamation-triangle::before { content: "✘ "; color: #b42318; }
"""


@dataclass
class _Entry:
    suite: Suite
    outcomes: list
    identifiers: Any


class DocsSite:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._entries: list[_Entry] = []

    # ---- lifecycle -----------------------------------------------------------------------

    def begin(self, run_id: str) -> None:
        """Start (or continue) this run's site; a different run's pages are removed."""
        marker = self.root / "run.json"
        try:
            current = json.loads(marker.read_text()).get("run_id")
        except (FileNotFoundError, json.JSONDecodeError):
            current = None
        if current != run_id:
            if self.root.exists():
                shutil.rmtree(self.root)
            self.root.mkdir(parents=True)
            _write_atomic(
                marker,
                json.dumps({"run_id": run_id, "started_at": _now()}, indent=2) + "\n",
            )

    def record(self, suite: Suite, outcomes: list, identifiers: Any) -> None:
        self._entries.append(_Entry(suite, list(outcomes), identifiers))

    def publish(self, session: Any) -> Path:
        """Render GX pages for the recorded validations, write outcomes and the index."""
        links: dict[str, dict[str, str]] = {}
        announce(f"writing the Data Docs of {len(self._entries)} suite(s)")
        if session is not None and self._entries:
            resources = []
            for entry in self._entries:
                if entry.identifiers is not None:
                    suite_id, validation_ids = entry.identifiers
                    resources += [suite_id, *validation_ids]
            if resources:
                session.context.build_data_docs(
                    site_names=[session.SITE], resource_identifiers=resources, build_index=False
                )
            for entry in self._entries:
                if entry.identifiers is not None:
                    links[entry.suite.name] = self._links(session, entry.identifiers)
        outcomes_dir = self.root / "outcomes"
        outcomes_dir.mkdir(parents=True, exist_ok=True)
        for entry in self._entries:
            document = {
                "suite": entry.suite.name,
                "asset": list(entry.suite.asset),
                "description": entry.suite.description,
                "suite_file": entry.suite.path.name if entry.suite.path else None,
                "validated_at": _now(),
                "links": links.get(entry.suite.name, {}),
                "outcomes": [outcome.as_dict() for outcome in entry.outcomes],
            }
            _write_atomic(
                outcomes_dir / f"{entry.suite.name}.json",
                json.dumps(document, indent=2, default=str) + "\n",
            )
        self._entries.clear()
        copy_static_assets(self.root)
        return self.render_index()

    def _links(self, session: Any, identifiers: Any) -> dict[str, str]:
        suite_id, validation_ids = identifiers
        found = {}
        for label, resource in (
            ("suite", suite_id),
            ("validation", (validation_ids or [None])[-1]),
        ):
            if resource is None:
                continue
            urls = session.context.get_docs_sites_urls(
                resource_identifier=resource, site_name=session.SITE
            )
            for item in urls or []:
                path = Path(unquote(urlparse(item["site_url"]).path))
                if path.exists():
                    found[label] = path.relative_to(self.root.resolve()).as_posix()
        return found

    # ---- index ---------------------------------------------------------------------------

    def documents(self) -> list[dict[str, Any]]:
        folder = self.root / "outcomes"
        if not folder.exists():
            return []
        return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]

    def render_index(self) -> Path:
        documents = self.documents()
        try:
            run = json.loads((self.root / "run.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            run = {}
        outcomes = [(doc, item) for doc in documents for item in doc["outcomes"]]
        failed = [(doc, o) for doc, o in outcomes if not o["passed"] and o["blocking"]]
        warned = [(doc, o) for doc, o in outcomes if not o["passed"] and not o["blocking"]]
        passed = sum(1 for _, o in outcomes if o["passed"])
        esc = html.escape
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            "<title>Journey Warehouse — data quality</title>",
            f"<style>{_STYLE}</style></head><body>",
            "<h1>Journey Warehouse — data quality</h1>",
            f"<p>Run <code>{esc(str(run.get('run_id', '?')))}</code>, checks started "
            f"{esc(str(run.get('started_at', '?')))}, page written {esc(_now())}.</p>",
        ]
        if failed:
            parts.append(
                f'<div class="verdict failed">{len(failed)} blocking check(s) failed: this run '
                "does not publish; the last good warehouse stays live.</div>"
            )
        else:
            parts.append(
                '<div class="verdict passed">No blocking check failed among the suites '
                "validated so far in this run.</div>"
            )
        parts.append(
            f"<p>{passed} passed, {len(warned)} warned, {len(failed)} failed, "
            f"in {len(documents)} suite(s).</p>"
        )
        dbt_docs = self.root.parent / "dbt" / "index.html"
        if dbt_docs.exists():
            parts.append('<p>Models and tests: <a href="../dbt/index.html">dbt docs</a>.</p>')
        for title, rows, css in (
            ("Blocking checks that failed", failed, "failed"),
            ("Warnings", warned, "warned"),
        ):
            if not rows:
                continue
            parts.append(f'<h2 class="{css}">{title}</h2>')
            parts.append(
                "<table><tr><th>asset</th><th>check</th><th>failed rows</th>"
                "<th>message</th><th>sample</th></tr>"
            )
            for doc, item in rows:
                sample = json.dumps(
                    [_labelled(row) for row in item.get("sample") or []], indent=1, default=str
                )
                parts.append(
                    f"<tr><td><code>{esc('/'.join(doc['asset']))}</code></td>"
                    f"<td><code>{esc(item['check'])}</code></td>"
                    f"<td>{esc(str(item.get('failed_rows', '—')))}</td>"
                    f"<td>{esc(item.get('message', ''))}</td>"
                    f"<td><pre>{esc(sample)}</pre></td></tr>"
                )
            parts.append("</table>")
        parts.append("<h2>Suites</h2>")
        parts.append(
            "<table><tr><th>suite</th><th>asset</th><th>rows</th><th>passed</th>"
            "<th>warned</th><th>failed</th><th>GX pages</th></tr>"
        )
        for doc in documents:
            items = doc["outcomes"]
            rows = next((o.get("rows") for o in items if o.get("rows") is not None), "—")
            counts = (
                sum(1 for o in items if o["passed"]),
                sum(1 for o in items if not o["passed"] and not o["blocking"]),
                sum(1 for o in items if not o["passed"] and o["blocking"]),
            )
            pages = " · ".join(
                f'<a href="{esc(href)}">{label}</a>'
                for label, href in sorted(doc.get("links", {}).items(), reverse=True)
            )
            parts.append(
                f"<tr><td>{esc(doc['suite'])}</td><td><code>{esc('/'.join(doc['asset']))}</code></td>"
                f'<td>{esc(str(rows))}</td><td class="passed">{counts[0]}</td>'
                f'<td class="warned">{counts[1] or ""}</td>'
                f'<td class="failed">{counts[2] or ""}</td><td>{pages}</td></tr>'
            )
        parts.append("</table>")
        parts.append(
            "<p>Each check is an expectation in <code>expectations/</code> of the repository; "
            "its severity is in its <code>meta.severity</code>. Machine-readable outcomes: "
            "<code>outcomes/*.json</code> beside this page.</p></body></html>"
        )
        index = self.root / "index.html"
        _write_atomic(index, "\n".join(parts) + "\n")
        return index


# ---- static assets -------------------------------------------------------------------------

STATIC = Path(__file__).with_name("docs_static")


def copy_static_assets(root: Path) -> None:
    """Our stylesheet and script for GX's pages, into `<site>/static/journey/`."""
    target = Path(root) / "static" / "journey"
    target.mkdir(parents=True, exist_ok=True)
    for asset in STATIC.iterdir():
        shutil.copyfile(asset, target / asset.name)


def _labelled(row: dict[str, Any]) -> dict[str, Any]:
    """A sample row with its helper columns (`<field>__text`, check-only) labelled as such."""
    return {
        (f"{key} (helper: raw text, check only)" if key.endswith(TEXT_SUFFIX) else key): value
        for key, value in row.items()
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
