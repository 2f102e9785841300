"""The body of one person's page: profile, timeline, phase spells and identity evidence."""

from __future__ import annotations

import polars as pl

from pipelines.report import figures
from pipelines.report.page import Chart, Section, esc, section_html, table_html
from pipelines.report.person import (
    EDGES,
    IDENTIFIERS,
    MERGES,
    PROFILE,
    SPELLS,
    TOUCHPOINTS,
    PersonJourney,
)
from pipelines.report.phases import Phases

PROFILE_FIELDS = (
    ("first touch", "first_touch_at"),
    ("acquisition channel", "acquisition_channel"),
    ("current phase", "current_phase"),
    ("first order", "first_order_at"),
    ("orders", "orders"),
    ("revenue", "revenue"),
    ("latest CSAT", "latest_csat"),
    ("latest NPS", "latest_nps"),
    ("segment", "segment"),
    ("identifiers", "identifiers"),
)


def _rows(frame: pl.DataFrame) -> list[tuple]:
    """The frame's values as display strings (a person's rows: tens to hundreds)."""
    return frame.select(pl.all().cast(pl.String).fill_null("–")).rows()


def _table(title: str, frame: pl.DataFrame, source_text: str, empty: str) -> str:
    body = (
        table_html(frame.columns, _rows(frame))
        if frame.height
        else f'<p class="muted">{esc(empty)}</p>'
    )
    return f"<h3>{esc(title)}</h3>{body}<p class='muted'>source: {esc(source_text)}</p>"


def person_body(journey: PersonJourney, phases: Phases) -> str:
    profile_rows = [(label, "–" if journey.profile.get(key) is None else str(journey.profile[key]))
                    for label, key in PROFILE_FIELDS]  # fmt: skip
    profile = (
        table_html(["", ""], profile_rows) + f"<p class='muted'>source: {esc(PROFILE.text())}</p>"
    )
    timeline = Chart(
        "person_timeline",
        figures.person_timeline(journey.touchpoints, journey.spells, phases, (TOUCHPOINTS, SPELLS)),
        f"Each marker is one touchpoint (hover for type, channel and source record); bands are "
        f"the phase spells. Source: {TOUCHPOINTS.text()}; {SPELLS.text()}.",
        "This person has no touchpoint.",
    )
    spells = journey.spells.with_columns(
        pl.col("phase").replace_strict(
            {p: phases.label(p) for p in phases.names}, default=pl.col("phase")
        )
    )
    identity = (
        _table("Identifiers (identity_map)", journey.identifiers, IDENTIFIERS.text(),
               "No identifier.")
        + _table("Evidence that joined them (identity_edges: one row per accepted link)",
                 journey.edges, EDGES.text(), "No link: the person is one identifier.")
        + _table("Merges", journey.merges, MERGES.text(), "This person took part in no merge.")
    )  # fmt: skip
    sections = [
        Section("Profile", "profile", extra_html=profile),
        Section("Timeline", "timeline", charts=[timeline]),
        Section(
            "Phase spells",
            "spells",
            extra_html=_table("", spells, SPELLS.text(), "No phase spell."),
        ),
        Section(
            "Touchpoints",
            "touchpoints",
            extra_html=_table("", journey.touchpoints, TOUCHPOINTS.text(), "No touchpoint."),
        ),
        Section(
            "Identity",
            "identity",
            intro="Identifier values as published: keyed HMAC pseudonyms for emails and phones "
            "when JOURNEY_PSEUDONYMIZE_KEY was set for the run.",
            extra_html=identity,
        ),
    ]
    return "".join(section_html(section) for section in sections)
