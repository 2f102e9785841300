"""Great Expectations' Data Docs pages, rendered offline by GX's own templating.

GX renders each page with a Jinja view class named in the site's configuration
(`site_section_builders.<section>.view`); its templates pull Bootstrap, jQuery, Font Awesome
and a logo from CDNs and end with a newsletter footer. `OfflinePageView` is that view with our
template folder (`docs_templates/`) searched first: the same page layout and sections, with
our stylesheet and script served from the site's `static/journey/` folder (copied from
`docs_static/` by `pipelines.quality.docs`), a link back to the quality overview, and no vendor
footer. Pages whose checks use helper columns (`<field>__text`: the raw text of a typed field,
which exists only so "parseable where present" can be checked) say so above the checks.

Imported by GX when it builds the docs (never when the definitions load).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from great_expectations.render.view import DefaultJinjaPageView
from jinja2 import ChoiceLoader, FileSystemLoader
from markupsafe import Markup

from pipelines.quality.suites import TEXT_SUFFIX

TEMPLATES = Path(__file__).with_name("docs_templates")
HELPER_COLUMNS_NOTE = Markup(
    '<div class="alert alert-secondary mb-3 journey-helper-note"><strong>Helper columns.'
    "</strong> Columns ending in <code>__text</code> (for example "
    "<code>created_at__text</code>) are not data: each is the raw text of the field of the "
    "same name as the vendor sent it, added to the frame only so that a check can ask "
    "“parseable wherever present”. They are never landed or published.</div>"
)


class OfflinePageView(DefaultJinjaPageView):
    """GX's page view with the Journey Warehouse templates in front of GX's own."""

    def __init__(self, custom_styles_directory=None, custom_views_directory=None) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        self.env.loader = ChoiceLoader([FileSystemLoader(str(TEMPLATES)), self.env.loader])

    def render(self, document: Any, template: str | None = None, **kwargs: Any) -> str:
        content = document.to_json_dict() if hasattr(document, "to_json_dict") else document
        if TEXT_SUFFIX in json.dumps(content, default=str):
            kwargs.setdefault("helper_columns_note", HELPER_COLUMNS_NOTE)
        return super().render(document, template, **kwargs)
