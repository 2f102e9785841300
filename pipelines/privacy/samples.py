"""Failed-check samples without raw personal data (issue 18, item 2).

A failing check shows a few offending rows — in the run report, the Data Docs (our index and
GX's own pages) and the Dagster event metadata. Those travel further than the warehouse (a chat
channel, every Dagster user), so their personal values are replaced before they are written:

* **Identifier kinds** that `config/identity.yml` pseudonymises (`pseudonymize_kinds`: e-mail and
  phone by default), wherever a column is named after the kind (`email`, `contact_email`,
  `emailAddress`, `customer.email`, `phone_number`, …), in `identifier_value` / `left_value` /
  `right_value` beside a `*_kind` naming the kind, and every e-mail address inside any text.
  * With `JOURNEY_PSEUDONYMIZE_KEY` set: exactly the published value — normalised like identity
    normalises it, then HMAC-SHA256 — so a sample joins `identity.identity_map`. A value that is
    already a 64-hex digest (read from a pseudonymised table) is left as it is.
  * Without a key: masked (`a***@example.com`, phones `***67`, other kinds `x***`). The
    published tables then hold plain values, but samples go where the warehouse does not.
* **Other personal columns** named in `sample_masked_columns` (names, addresses, IPs): `***`.

Samples are a handful of rows; the values to pseudonymise are hashed in one batch per call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl

from pipelines.identity.published import published_identifiers
from pipelines.identity.rules import IdentityRules, load_rules
from pipelines.settings import Secret, Settings

MASK = "***"
EMAIL_IN_TEXT = re.compile(
    r"(?<![\w.+%-])[\w.+-]+(?:@|%40)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}"
)
DIGEST = re.compile(r"^[0-9a-f]{64}$")
_NAME_SUFFIXES = ("_text", "_address", "_number", "_raw")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def column_words(name: str) -> str:
    """`customer.emailAddress` -> `customer_email_address` (lower case, `_` between words)."""
    return re.sub(r"[^a-z0-9]+", "_", _CAMEL.sub("_", str(name)).lower()).strip("_")


@dataclass(frozen=True)
class _Value:
    kind: str
    raw: str


class SampleGuard:
    """Pseudonymises (with a key) or masks (without) the personal values of samples."""

    def __init__(self, key: Secret | None, rules: IdentityRules | None = None) -> None:
        self.key = key
        self.rules = rules or load_rules()
        self.kinds = tuple(self.rules.pseudonymize_kinds)
        self.masked_columns = {column_words(name) for name in self.rules.sample_masked_columns}
        self.scans_text = "email" in self.kinds

    @classmethod
    def from_settings(cls, settings: Settings) -> SampleGuard:
        return cls(settings.pseudonymize_key)

    # ---- which values are personal --------------------------------------------------------

    def kind_of_column(self, column: str | None) -> str | None:
        """The identifier kind a column named `column` carries, if it is a protected one."""
        if column is None:
            return None
        words = column_words(column)
        for suffix in _NAME_SUFFIXES:
            words = words.removesuffix(suffix).strip("_")
        for kind in self.kinds:
            if words == kind or words.endswith("_" + kind):
                return kind
        return None

    def is_masked_column(self, column: str | None) -> bool:
        return (
            column is not None and column_words(str(column).split(".")[-1]) in self.masked_columns
        )

    # ---- protecting -----------------------------------------------------------------------

    def protect(self, value: Any, column: str | None = None) -> Any:
        """`value` (a JSON-able structure: rows, lists, a message) with personal values
        replaced; dict keys name the columns of their values, `column` names the top level."""
        found: set[_Value] = set()
        self._walk(value, column, found.add)
        published = self._published(found)
        return self._walk(value, column, lambda item: None, published)

    def protect_rows(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(self.protect(list(rows)))

    def _walk(
        self,
        value: Any,
        column: str | None,
        collect: Callable[[_Value], object],
        published: dict[_Value, str] | None = None,
    ) -> Any:
        """Collect (first pass) or replace (second pass, with `published`) personal values."""
        if isinstance(value, dict):
            kinds = self._paired_kinds(value)
            return {
                key: self._walk(item, kinds.get(key, key), collect, published)
                for key, item in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [self._walk(item, column, collect, published) for item in value]
        if value is None or isinstance(value, bool):
            return value
        if self.is_masked_column(column):
            return MASK
        kind = str(column)[len("kind:") :] if str(column).startswith("kind:") else None
        kind = kind or self.kind_of_column(column)
        if kind is not None:
            item = _Value(kind, str(value))
            if published is None:
                collect(item)
                return value
            return published[item]
        if not self.scans_text or not isinstance(value, str):
            return value
        if "@" not in value and "%40" not in value.lower():
            return value
        if published is None:
            for match in EMAIL_IN_TEXT.finditer(value):
                collect(_Value("email", _decoded(match.group())))
            return value
        return EMAIL_IN_TEXT.sub(
            lambda match: published.get(_Value("email", _decoded(match.group())), MASK), value
        )

    def _paired_kinds(self, row: dict[Any, Any]) -> dict[str, str]:
        """`identifier_value` -> `kind:email` when `identifier_kind` says email (and alike)."""
        paired = {}
        for key, kind in row.items():
            name = str(key)
            if name.endswith("_kind") and kind in self.kinds:
                paired[name.removesuffix("_kind") + "_value"] = f"kind:{kind}"
        return paired

    def _published(self, values: set[_Value]) -> dict[_Value, str]:
        if not values:
            return {}
        items = sorted(values, key=lambda item: (item.kind, item.raw))
        if self.key is None:
            return {item: mask(item.kind, item.raw) for item in items}
        fresh = [item for item in items if not DIGEST.match(item.raw)]
        result = {item: item.raw for item in items if DIGEST.match(item.raw)}
        if fresh:
            frame = pl.DataFrame(
                {"kind": [item.kind for item in fresh], "raw_value": [item.raw for item in fresh]}
            )
            hashed = published_identifiers(frame, self.rules, self.key)["value"].to_list()
            result.update({item: value or MASK for item, value in zip(fresh, hashed, strict=True)})
        return result


def _decoded(text: str) -> str:
    return re.sub("%40", "@", text, flags=re.IGNORECASE)


def mask(kind: str, raw: str) -> str:
    """A value shown without a key: enough to debug a check, not enough to know the person."""
    text = raw.strip()
    if MASK in text:  # masked already
        return text
    if kind == "email" and "@" in text:
        local, _, domain = text.rpartition("@")
        return f"{local[:1].lower()}{MASK}@{domain.lower()}" if local else f"{MASK}@{domain}"
    if kind == "phone":
        digits = re.sub(r"\D", "", text)
        return MASK + digits[-2:] if len(digits) > 4 else MASK
    return f"{text[:1]}{MASK}" if len(text) > 3 else MASK
