"""The identity rules as data: `config/identity.yml` loaded into a typed, validated object.

The file format is described in `pipelines/identity/README.md` ("Rules file"). Every mistake in
the file is reported with the key that holds it, so an analyst editing the YAML sees what to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipelines.settings import PROJECT_ROOT

DEFAULT_RULES_PATH = PROJECT_ROOT / "config" / "identity.yml"

KNOWN_KINDS = (
    "web_visitor_id",
    "web_user_id",
    "email",
    "email_subscriber_id",
    "shop_customer_id",
    "checkout_token",
    "support_requester_id",
    "phone",
)
NORMALISE_STEPS = ("trim", "lower", "digits")
# What `trim` removes from both ends: the Unicode White_Space characters (tabs, line breaks,
# no-break and ideographic spaces...). Declared once: the dbt macro `normalised_identifier`
# receives the same set as a regular-expression class (normalisation_declaration).
_WHITESPACE_RANGES = ((0x09, 0x0D), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680),
                      (0x2000, 0x200A), (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F),
                      (0x3000, 0x3000))  # fmt: skip
WHITESPACE = "".join(chr(c) for low, high in _WHITESPACE_RANGES for c in range(low, high + 1))
TRIM_CLASS = (
    "["
    + "".join(
        f"\\x{{{low:04X}}}" + (f"-\\x{{{high:04X}}}" if high > low else "")
        for low, high in _WHITESPACE_RANGES
    )
    + "]"
)

NORMALISATION_ENV = "JOURNEY_IDENTIFIER_NORMALISATION"
"""The environment variable through which dbt reads the per-kind normalisation (macro
`normalised_identifier`, dbt_project/macros/identifiers.sql): `normalisation_declaration`."""


class RulesError(ValueError):
    """The rules file is unusable; the message names the file and the key."""


@dataclass(frozen=True)
class KindRule:
    kind: str
    normalise: tuple[str, ...]
    is_anonymous: bool
    valid_pattern: str | None


@dataclass(frozen=True)
class JunkRule:
    """What makes a normalised value of one identifier kind junk (a placeholder, not a person's).

    `values` are compared case-insensitively; `repeated_character_min_length` (None: off) blocks
    a value made of one character repeated at least that often; `patterns` are regexes.
    """

    values: tuple[str, ...]
    repeated_character_min_length: int | None
    patterns: tuple[str, ...]


JUNK_KEYS = ("values", "repeated_character_min_length", "patterns")


@dataclass(frozen=True)
class DegreeLimit:
    """An identifier of `kind` links directly to at most `max_linked` of `linked_kind`."""

    kind: str
    linked_kind: str
    max_linked: int

    @property
    def reason(self) -> str:
        return f"limit:{self.kind}->{self.linked_kind}"


@dataclass(frozen=True)
class IdentityRules:
    kinds: dict[str, KindRule]
    strip_plus_tag: str | tuple[str, ...]  # "all", "none" or a tuple of domains
    dot_insensitive_domains: tuple[str, ...]
    domain_aliases: dict[str, str]
    junk: dict[str, JunkRule]  # one per kind of `kinds`, the defaults already applied
    generic_mailboxes: tuple[str, ...]
    degree_limits: tuple[DegreeLimit, ...]
    account_kinds: tuple[str, ...]
    pseudonymize_kinds: tuple[str, ...]
    sample_masked_columns: tuple[str, ...] = ()
    """Personal columns (not identifiers) masked in failed-check samples (pipelines.privacy)."""

    @property
    def anonymous_kinds(self) -> tuple[str, ...]:
        return tuple(kind for kind, rule in self.kinds.items() if rule.is_anonymous)


def load_rules(path: Path | None = None) -> IdentityRules:
    """Read and validate the rules file (default `config/identity.yml`)."""
    path = Path(path) if path is not None else DEFAULT_RULES_PATH
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise RulesError(f"identity rules file {path} does not exist") from error
    except yaml.YAMLError as error:
        raise RulesError(f"identity rules file {path} is not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise RulesError(f"{path}: expected a mapping at the top level")
    return rules_from_mapping(raw, origin=str(path))


def rules_from_mapping(raw: dict, origin: str = "<rules>") -> IdentityRules:
    """Build rules from an already-parsed mapping (the YAML's shape)."""

    def fail(key: str, message: str) -> RulesError:
        return RulesError(f"{origin}: `{key}` {message}")

    def strings(value, key: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise fail(key, "must be a list of strings")
        return tuple(value)

    kinds_raw = raw.get("kinds")
    if not isinstance(kinds_raw, dict) or not kinds_raw:
        raise fail("kinds", "must map each identifier kind to its settings")
    kinds: dict[str, KindRule] = {}
    for kind, settings in kinds_raw.items():
        settings = settings or {}
        if kind not in KNOWN_KINDS:
            raise fail(
                f"kinds.{kind}", f"is not an identifier kind; known: {', '.join(KNOWN_KINDS)}"
            )
        steps = strings(settings.get("normalise", []), f"kinds.{kind}.normalise")
        unknown = [step for step in steps if step not in NORMALISE_STEPS]
        if unknown:
            raise fail(
                f"kinds.{kind}.normalise", f"has unknown steps {unknown}; known: {NORMALISE_STEPS}"
            )
        pattern = settings.get("valid_pattern")
        if pattern is not None:
            _check_regex(pattern, fail, f"kinds.{kind}.valid_pattern")
        kinds[kind] = KindRule(kind, steps, bool(settings.get("anonymous", False)), pattern)

    email = raw.get("email") or {}
    plus = email.get("strip_plus_tag", "all")
    if isinstance(plus, list):
        strip_plus: str | tuple[str, ...] = strings(plus, "email.strip_plus_tag")
    elif plus in ("all", "none"):
        strip_plus = plus
    else:
        raise fail("email.strip_plus_tag", "must be `all`, `none` or a list of domains")
    aliases = email.get("domain_aliases") or {}
    if not isinstance(aliases, dict):
        raise fail("email.domain_aliases", "must map a domain to the domain it stands for")

    blocklist = raw.get("blocklist") or {}
    if not isinstance(blocklist, dict):
        raise fail("blocklist", "must be a mapping")
    junk = _junk_rules(blocklist, kinds, fail, strings)

    limits = raw.get("limits") or {}
    degree_limits = []
    for index, item in enumerate(limits.get("per_identifier") or []):
        key = f"limits.per_identifier[{index}]"
        if not isinstance(item, dict) or set(item) != {"kind", "linked_kind", "max"}:
            raise fail(key, "must have exactly the keys kind, linked_kind, max")
        if item["kind"] not in kinds or item["linked_kind"] not in kinds:
            raise fail(key, "names a kind missing from `kinds`")
        if not isinstance(item["max"], int) or item["max"] < 1:
            raise fail(key, "max must be an integer >= 1")
        if any(
            (limit.kind, limit.linked_kind) == (item["kind"], item["linked_kind"])
            for limit in degree_limits
        ):
            raise fail(key, f"repeats the limit {item['kind']} -> {item['linked_kind']}")
        degree_limits.append(DegreeLimit(item["kind"], item["linked_kind"], item["max"]))
    account_kinds = strings(limits.get("one_account_per_person"), "limits.one_account_per_person")
    for kind in account_kinds:
        if kind not in kinds:
            raise fail("limits.one_account_per_person", f"names {kind!r}, missing from `kinds`")

    pseudonymize = strings(raw.get("pseudonymize_kinds"), "pseudonymize_kinds")
    for kind in pseudonymize:
        if kind not in kinds:
            raise fail("pseudonymize_kinds", f"names {kind!r}, missing from `kinds`")

    return IdentityRules(
        kinds=kinds,
        strip_plus_tag=strip_plus,
        dot_insensitive_domains=strings(
            email.get("dot_insensitive_domains"), "email.dot_insensitive_domains"
        ),
        domain_aliases={str(k).lower(): str(v).lower() for k, v in aliases.items()},
        junk=junk,
        generic_mailboxes=tuple(
            box.lower()
            for box in strings(blocklist.get("generic_mailboxes"), "blocklist.generic_mailboxes")
        ),
        degree_limits=tuple(degree_limits),
        account_kinds=account_kinds,
        pseudonymize_kinds=pseudonymize,
        sample_masked_columns=strings(raw.get("sample_masked_columns"), "sample_masked_columns"),
    )


def normalisation_declaration(rules: IdentityRules) -> dict:
    """The normalisation of every identifier kind, declared once in the rules file, in the form
    the dbt macro `normalised_identifier` reads (JSON in `NORMALISATION_ENV`): the steps per kind,
    the e-mail provider rules, and the characters `trim` removes (as a regular-expression class,
    the same set `pipelines.identity.normalise` strips), so SQL and Polars normalise alike."""
    plus = rules.strip_plus_tag
    return {
        "kinds": {kind: list(rule.normalise) for kind, rule in rules.kinds.items()},
        "email": {
            "strip_plus_tag": plus if isinstance(plus, str) else list(plus),
            "dot_insensitive_domains": list(rules.dot_insensitive_domains),
            "domain_aliases": dict(rules.domain_aliases),
        },
        "trim_class": TRIM_CLASS,
    }


MOVED_BLOCKLIST_KEYS = {
    "values": "blocklist.default.values",
    "repeated_character_min_length": "blocklist.default.repeated_character_min_length",
    "patterns": "blocklist.kinds.<kind>.patterns",
}


def _junk_rules(blocklist: dict, kinds: dict[str, KindRule], fail, strings) -> dict[str, JunkRule]:
    """Each kind's junk rule: `blocklist.default`, with the keys of `blocklist.kinds.<kind>`
    replacing the default's."""
    for key, place in MOVED_BLOCKLIST_KEYS.items():
        if key in blocklist:
            raise fail(f"blocklist.{key}", f"is per identifier kind now: move it to `{place}`")

    def entry(value, key: str) -> dict:
        value = value or {}
        if not isinstance(value, dict):
            raise fail(key, f"must be a mapping with some of the keys {', '.join(JUNK_KEYS)}")
        unknown = sorted(set(value) - set(JUNK_KEYS))
        if unknown:
            raise fail(f"{key}.{unknown[0]}", f"is not a junk rule; known: {', '.join(JUNK_KEYS)}")
        checked: dict = {}
        if "values" in value:
            checked["values"] = tuple(
                item.lower() for item in strings(value["values"], f"{key}.values")
            )
        if "repeated_character_min_length" in value:
            checked["repeated_character_min_length"] = _repeated_length(
                value["repeated_character_min_length"], fail, f"{key}.repeated_character_min_length"
            )
        if "patterns" in value:
            checked["patterns"] = strings(value["patterns"], f"{key}.patterns")
            for pattern in checked["patterns"]:
                _check_regex(pattern, fail, f"{key}.patterns")
        return checked

    default = {
        "values": (),
        "repeated_character_min_length": None,
        "patterns": (),
        **entry(blocklist.get("default"), "blocklist.default"),
    }
    per_kind = blocklist.get("kinds") or {}
    if not isinstance(per_kind, dict):
        raise fail("blocklist.kinds", "must map an identifier kind to its junk rules")
    for kind in per_kind:
        if kind not in kinds:
            raise fail(f"blocklist.kinds.{kind}", "names a kind missing from `kinds`")
    return {
        kind: JunkRule(**{**default, **entry(per_kind.get(kind), f"blocklist.kinds.{kind}")})
        for kind in kinds
    }


def _repeated_length(value, fail, key: str) -> int | None:
    """An integer >= 2, or off (`off`/`false`/null in YAML: the rule does not apply)."""
    if value is None or value is False or value == "off":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise fail(key, "must be an integer >= 2, or `off`")
    return value


def _check_regex(pattern: str, fail, key: str) -> None:
    try:
        re.compile(pattern)
    except re.error as error:
        raise fail(key, f"holds an invalid regular expression {pattern!r}: {error}") from error
