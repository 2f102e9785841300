"""The stream registry: every landed stream declared once, in `config/streams/<source>.yml`.

One YAML file per source declares its streams: natural key, version (cursor) field and its
timestamp format, and per field the landing contract check (`check`), whether the field is
required (`required`, `not_blank`), how dbt staging parses it (`parse`, a `parse_json`
structure type), the type the landing expectation suite reads it as (`frame`), the values
of an enumeration the vendor may extend (`known_values`: a new value warns, never blocks) and
which personal data it holds (`pii`). Array fields declare their items' fields under `items`,
object fields theirs under `fields`. docs/streams.md describes the format and the recipes.

Everything else is derived from this registry (`derive.py` writes the artefacts; tests fail
when one drifts): the extraction contract (`streams.py`), the dbt sources and the structures
staging parses (`dbt_project/macros/stream_registry.sql`), the `frame` block and the
enumerations of the landing expectation suites, and the tables in docs/streams.md and
docs/contracts.md §4. Pure: no Dagster, no I/O beyond reading the YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REGISTRY_DIR = Path(__file__).resolve().parents[2] / "config" / "streams"
SOURCE_ORDER = ("matomo", "mailchimp", "shopify", "zendesk", "filedrop")
"""The order sources are listed in (vendors first, then file drops)."""

PARSE_TYPES = ("string", "bigint", "double", "boolean")
FRAME_TYPES = ("text", "integer", "number", "boolean", "timestamp_iso", "timestamp_unix")
PII_KINDS = ("email", "phone", "name", "ip")
_FIELD_KEYS = frozenset(
    {
        "check",
        "required",
        "not_blank",
        "parse",
        "frame",
        "known_values",
        "pii",
        "doc",
        "items",
        "fields",
    }
)
_STREAM_KEYS = frozenset({"description", "key", "version", "fields", "arrival"})
ARRIVALS = ("steady", "bursty")
"""How a stream's records arrive: `steady` — every night brings some, so a night with none is
suspicious (the quarantine gate's vanished-stream rule judges it); `bursty` — records come in
bursts (a file dropped now and then, recipients of a campaign when one is sent), so a night
with none is normal and that rule does not judge it."""


class RegistryError(ValueError):
    """A registry file breaks the format (the message names the file, stream and field)."""


@dataclass(frozen=True)
class FieldDecl:
    name: str
    check: str | None = None
    """Landing contract check (streams.py `CheckKind`); None: any value lands."""
    required: bool = False
    not_blank: bool = False
    parse: Any = None
    """The `parse_json` type dbt staging reads the field as (a type name, or a structure of
    them); None: staging does not read the field (it stays in the raw record)."""
    frame: str | None = None
    """The type the landing expectation suite reads the field as; None: not in the suite frame."""
    known_values: tuple[str, ...] | None = None
    pii: str | None = None
    doc: str | None = None
    """A short note for the docs tables (the vendor's documented type or range)."""
    items: dict[str, FieldDecl] = field(default_factory=dict)
    """Fields of the items of an array field."""
    fields: dict[str, FieldDecl] = field(default_factory=dict)
    """Fields of an object field."""

    def structure(self) -> Any:
        """The `parse_json` structure of this field, or None when staging does not read it."""
        if self.items:
            return [_structure(self.items)]
        if self.fields:
            return _structure(self.fields)
        return self.parse


def _structure(fields: dict[str, FieldDecl]) -> dict[str, Any]:
    return {name: decl.structure() for name, decl in fields.items() if decl.structure() is not None}


@dataclass(frozen=True)
class StreamDecl:
    source: str
    stream: str
    description: str
    key: tuple[str, ...]
    version_field: str | None
    version_format: str | None
    fields: dict[str, FieldDecl]
    arrival: str = "steady"
    """`ARRIVALS`: whether a night without records is suspicious (steady) or normal (bursty)."""

    @property
    def name(self) -> str:
        return f"{self.source}/{self.stream}"

    def structure(self) -> dict[str, Any]:
        """What dbt staging parses of a record: `parse_json`'s structure."""
        return _structure(self.fields)

    def field_path(self, path: tuple[str, ...]) -> FieldDecl | None:
        """The declaration at `path` (`("activity", "action")`: an item's or an object's
        field), or None when nothing is declared there."""
        decls, decl = self.fields, None
        for part in path:
            decl = decls.get(part)
            if decl is None:
                return None
            decls = decl.items or decl.fields
        return decl


@dataclass(frozen=True)
class SourceDecl:
    source: str
    description: str
    streams: dict[str, StreamDecl]
    path: Path


def _field(where: str, name: str, raw: Any) -> FieldDecl:
    raw = raw or {}
    if not isinstance(raw, dict):
        raise RegistryError(f"{where}.{name}: a field is a mapping, got {raw!r}")
    unknown = set(raw) - _FIELD_KEYS
    if unknown:
        raise RegistryError(f"{where}.{name}: unknown keys {sorted(unknown)}")
    if raw.get("frame") is not None and raw["frame"] not in FRAME_TYPES:
        raise RegistryError(f"{where}.{name}: frame must be one of {FRAME_TYPES}")
    if raw.get("pii") is not None and raw["pii"] not in PII_KINDS:
        raise RegistryError(f"{where}.{name}: pii must be one of {PII_KINDS}")
    _check_parse(f"{where}.{name}", raw.get("parse"))
    if raw.get("parse") is not None and (raw.get("items") or raw.get("fields")):
        raise RegistryError(f"{where}.{name}: parse is derived from items/fields, not both")
    known = raw.get("known_values")
    return FieldDecl(
        name=name,
        check=raw.get("check"),
        required=bool(raw.get("required", False)),
        not_blank=bool(raw.get("not_blank", False)),
        parse=raw.get("parse"),
        frame=raw.get("frame"),
        known_values=tuple(str(value) for value in known) if known is not None else None,
        pii=raw.get("pii"),
        doc=raw.get("doc"),
        items=_fields(f"{where}.{name}[]", raw.get("items") or {}),
        fields=_fields(f"{where}.{name}", raw.get("fields") or {}),
    )


def _fields(where: str, raw: dict) -> dict[str, FieldDecl]:
    return {str(name): _field(where, str(name), value) for name, value in raw.items()}


def _check_parse(where: str, parse: Any) -> None:
    if parse is None:
        return
    if isinstance(parse, str):
        if parse not in PARSE_TYPES:
            raise RegistryError(f"{where}: parse type {parse!r} is not one of {PARSE_TYPES}")
    elif isinstance(parse, list) and len(parse) == 1:
        _check_parse(where, parse[0])
    elif isinstance(parse, dict):
        for name, value in parse.items():
            _check_parse(f"{where}.{name}", value)
    else:
        raise RegistryError(f"{where}: parse is a type, a one-element list or a mapping")


def _arrival(where: str, value: Any) -> str:
    if value not in ARRIVALS:
        raise RegistryError(f"{where}: arrival {value!r} is not one of {ARRIVALS}")
    return str(value)


def _stream(source: str, stream: str, raw: dict, path: Path, arrival: str = "steady") -> StreamDecl:
    where = f"{path.name}: {stream}"
    unknown = set(raw) - _STREAM_KEYS
    if unknown:
        raise RegistryError(f"{where}: unknown keys {sorted(unknown)}")
    version = raw.get("version") or {}
    fields = _fields(f"{where}", raw.get("fields") or {})
    if not fields:
        raise RegistryError(f"{where}: no fields declared")
    decl = StreamDecl(
        source=source,
        stream=stream,
        description=str(raw.get("description") or "").strip(),
        key=tuple(raw.get("key") or ()),
        version_field=version.get("field"),
        version_format=version.get("format"),
        fields=fields,
        arrival=_arrival(where, raw.get("arrival", arrival)),
    )
    if not decl.key or not decl.description:
        raise RegistryError(f"{where}: key and description are required")
    return decl


def load_source(path: Path) -> SourceDecl:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    source = raw.get("source")
    if source != path.stem:
        raise RegistryError(f"{path}: `source: {source}` must match the file name")
    arrival = _arrival(str(path.name), raw.get("arrival", "steady"))  # the source's default
    streams = {
        str(stream): _stream(source, str(stream), body or {}, path, arrival)
        for stream, body in (raw.get("streams") or {}).items()
    }
    return SourceDecl(source, str(raw.get("description") or "").strip(), streams, path)


def load_registry(directory: Path = REGISTRY_DIR) -> dict[str, SourceDecl]:
    """Every source's declarations, in `SOURCE_ORDER` (then any other file by name)."""
    paths = {path.stem: path for path in directory.glob("*.yml")}
    order = [s for s in SOURCE_ORDER if s in paths] + sorted(set(paths) - set(SOURCE_ORDER))
    return {source: load_source(paths[source]) for source in order}


@cache
def registry() -> dict[str, SourceDecl]:
    """The project's registry, read once per process."""
    return load_registry()


def all_streams(sources: dict[str, SourceDecl] | None = None) -> list[StreamDecl]:
    return [
        decl
        for source in (sources if sources is not None else registry()).values()
        for decl in source.streams.values()
    ]
