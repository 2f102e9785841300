"""The extraction contract of every stream the extraction layer lands (docs/contracts.md §1, §4).

The streams are declared once, in `config/streams/<source>.yml` (read by `registry.py`, format
in docs/streams.md); this module turns each declaration into the `StreamSpec` extraction
applies. A spec says how to read a record's natural key and version time (top-level JSON
fields and the timestamp format), which fields the stream requires, which top-level fields it
knows (anything else is schema drift, kept and reported), and which contract type checks a
record must pass to land rather than go to quarantine.

The validation that applies a spec lives in `landing.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, cast, get_args

from pipelines.extract.registry import SourceDecl, StreamDecl, all_streams, registry

TimestampFormat = Literal["unix", "iso"]

# Contract type checks (see `landing.py` for how each is evaluated, vectorised):
#   integer, number, string, boolean, array, object — the JSON type of the value;
#   id — a JSON integer or a non-empty string;
#   unix — unix seconds (a JSON number or a numeric string) between 1970 and 2200;
#   iso — an ISO-8601 timestamp string ("" counts as absent, as Mailchimp sends it);
#   integer_text, number_text, boolean_text — a value whose text parses as that type
#   (file drops: CSV cells are text, NDJSON values may be native);
#   numeric, integral — a JSON number or a string holding one (Matomo sends many numbers as
#   strings, depending on version and field): finite, and for `integral` without a fraction;
#   a blank string counts as absent, as for timestamps;
#   money — a JSON number or a string holding one (blank: absent), as `numeric`.
# A check applies only where the field is present and not null. A value of the right type may
# still be quarantined as a bad value (not finite, out of range, a year out of range): values.py.
CheckKind = Literal[
    "integer",
    "number",
    "numeric",
    "integral",
    "money",
    "string",
    "boolean",
    "array",
    "object",
    "id",
    "unix",
    "iso",
    "integer_text",
    "number_text",
    "boolean_text",
]


@dataclass(frozen=True)
class StreamSpec:
    source: str
    stream: str
    key_fields: tuple[str, ...]
    """Top-level fields forming the natural key; several are joined with ':' (contracts §2)."""
    version_field: str | None
    """Top-level field holding the version time; None for streams without one."""
    version_format: TimestampFormat | None
    required: tuple[str, ...]
    """Fields every record must carry. Absent from one record: quarantine; from a whole
    page (or file): schema drift, the stream fails."""
    known_fields: tuple[str, ...]
    checks: dict[str, CheckKind] = field(default_factory=dict)
    not_blank: tuple[str, ...] = ()
    """Required fields that must also hold a value: null or a blank string is quarantined."""
    item_checks: dict[str, dict[str, CheckKind]] = field(default_factory=dict)
    """Per array field, checks on the fields of its items (objects), of the kinds decided by a
    value's text (numeric, integral, unix); an item field absent or null passes, like a
    top-level one."""
    item_required: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Per array field, fields every item must carry with a value (else quarantine)."""

    @property
    def name(self) -> str:
        return f"{self.source}/{self.stream}"

    def __post_init__(self) -> None:
        fields = set(self.known_fields)
        declared = set(self.key_fields) | set(self.required) | set(self.checks)
        if self.version_field:
            declared.add(self.version_field)
        unknown = sorted(declared - fields)
        if unknown:
            raise ValueError(f"{self.name}: fields {unknown} are used but not in known_fields")
        if (self.version_field is None) != (self.version_format is None):
            raise ValueError(f"{self.name}: version_field and version_format go together")
        if not set(self.not_blank) <= set(self.required):
            raise ValueError(f"{self.name}: not_blank fields must be required fields")
        for array in {*self.item_checks, *self.item_required}:
            if self.checks.get(array) != "array":
                raise ValueError(f"{self.name}: item checks need {array!r} checked as an array")
        item_kinds = {kind for checks in self.item_checks.values() for kind in checks.values()}
        if not item_kinds <= {"numeric", "integral", "unix"}:
            raise ValueError(f"{self.name}: item checks support numeric, integral and unix only")


def spec_from_declaration(decl: StreamDecl) -> StreamSpec:
    """The extraction contract of one stream declared in the registry (`registry.py`)."""
    fields = decl.fields
    checks = {name: cast("CheckKind", f.check) for name, f in fields.items() if f.check is not None}
    unknown_kinds = sorted(set(checks.values()) - set(get_args(CheckKind)))
    if unknown_kinds:
        raise ValueError(f"{decl.name}: unknown check kinds {unknown_kinds}")
    arrays = {name: f for name, f in fields.items() if f.items}
    return StreamSpec(
        source=decl.source,
        stream=decl.stream,
        key_fields=decl.key,
        version_field=decl.version_field,
        version_format=decl.version_format,  # type: ignore[arg-type]
        required=tuple(name for name, f in fields.items() if f.required),
        known_fields=tuple(fields),
        checks=checks,
        not_blank=tuple(name for name, f in fields.items() if f.not_blank),
        item_checks={
            name: {
                item: cast("CheckKind", f.check)
                for item, f in array.items.items()
                if f.check is not None
            }
            for name, array in arrays.items()
            if any(f.check is not None for f in array.items.values())
        },
        item_required={
            name: tuple(item for item, f in array.items.items() if f.required)
            for name, array in arrays.items()
            if any(f.required for f in array.items.values())
        },
    )


def specs_from_registry(sources: dict[str, SourceDecl]) -> dict[tuple[str, str], StreamSpec]:
    return {
        (decl.source, decl.stream): spec_from_declaration(decl) for decl in all_streams(sources)
    }


STREAMS: dict[tuple[str, str], StreamSpec] = specs_from_registry(registry())
SOURCES: tuple[str, ...] = tuple(registry())


def stream_spec(source: str, stream: str) -> StreamSpec:
    try:
        return STREAMS[(source, stream)]
    except KeyError:
        known = ", ".join(f"{s}/{t}" for s, t in STREAMS)
        raise KeyError(f"unknown stream {source}/{stream}; registered: {known}") from None


def streams_of(source: str) -> tuple[str, ...]:
    if source not in SOURCES:
        raise KeyError(f"unknown source {source!r}; sources are {', '.join(SOURCES)}")
    return tuple(stream for (src, stream) in STREAMS if src == source)
