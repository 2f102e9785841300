"""The stream registry (config/streams/) is the one declaration every derived artefact follows.

Derived: the extraction contract (streams.py), the dbt sources and staging structures
(dbt_project/macros/stream_registry.sql), the landing suites' frames and enumerations, and the
docs tables (docs/streams.md, docs/contracts.md §4). A drift fails
`test_derived_files_match_the_registry`; a staging model reading a field the registry does not
declare fails `test_staging_reads_only_registered_fields`.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pipelines.extract.derive import (
    CONTRACTS_DOC,
    DBT_MACRO,
    ROOT,
    STREAMS_DOC,
    artefacts,
    drifted,
    known_values,
    sources_file,
)
from pipelines.extract.registry import (
    REGISTRY_DIR,
    RegistryError,
    SourceDecl,
    all_streams,
    load_registry,
)
from pipelines.extract.streams import STREAMS, specs_from_registry

STAGING = ROOT / "dbt_project" / "models" / "staging"
_PARSED = re.compile(
    r"parsed_landed_records\('(\w+)', '(\w+)', stream_structure\('(\w+)', '(\w+)'\), '(\w+)'"
)
_FILEDROP = re.compile(r"filedrop_staging\('(\w+)', '\w+', \[(.*?)\]\) \}\}", re.S)
_REGISTERED = re.compile(r"registered: (\S+)")


def unregistered_reads(sources: dict[str, SourceDecl]) -> list[str]:
    """Every `alias.field` a staging model reads (and every file-drop column) that the
    registry does not declare with a `parse` type, as `model: source/stream.field`."""
    structures = {(d.source, d.stream): d.structure() for d in all_streams(sources)}
    problems = []
    for path in sorted(STAGING.glob("*/*.sql")):
        text = path.read_text(encoding="utf-8")
        for match in _PARSED.finditer(text):
            source, stream, structure_source, structure_stream, alias = match.groups()
            assert (source, stream) == (structure_source, structure_stream), path.name
            structure = structures.get((source, stream), {})
            for name in sorted(set(re.findall(rf"\b{alias}\.(\w+)", text))):
                if name not in structure:
                    problems.append(f"{path.stem}: {source}/{stream}.{name}")
        for match in _FILEDROP.finditer(text):
            stream = match.group(1)
            structure = structures.get(("filedrop", stream), {})
            for name in re.findall(r"\('(\w+)',", match.group(2)):
                if name not in structure:
                    problems.append(f"{path.stem}: filedrop/{stream}.{name}")
    return problems


def registry_copy(tmp_path: Path) -> Path:
    target = tmp_path / "streams"
    shutil.copytree(REGISTRY_DIR, target)
    return target


def without_line(path: Path, line_start: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.lstrip().startswith(line_start)]
    assert len(kept) == len(lines) - 1, f"expected one line starting {line_start!r}"
    path.write_text("".join(kept), encoding="utf-8")


def replaced(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"expected {old!r} once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_derived_files_match_the_registry():
    stale = drifted(artefacts())
    assert stale == [], (
        f"{[str(p) for p in stale]} drifted from config/streams/: edit the registry and run "
        "`python -m pipelines.extract.derive`"
    )


def test_staging_reads_only_registered_fields():
    assert unregistered_reads(load_registry()) == []


def test_every_registered_enumeration_test_names_a_declared_enumeration():
    declared = dict(known_values(all_streams()))
    named = [
        match.group(1)
        for path in STAGING.glob("*/*.yml")
        for match in _REGISTERED.finditer(path.read_text(encoding="utf-8"))
    ]
    assert len(named) >= 13
    assert sorted(set(named) - set(declared)) == []


def test_extraction_contract_is_built_from_the_registry():
    streams = all_streams()
    assert list(STREAMS) == [(d.source, d.stream) for d in streams]
    visits = STREAMS[("matomo", "visits")]
    assert visits.key_fields == ("idVisit",)
    assert (visits.version_field, visits.version_format) == ("lastActionTimestamp", "unix")
    assert visits.not_blank == ("visitorId",)
    assert visits.checks["visitDuration"] == "numeric"
    assert visits.item_required == {"actionDetails": ("type", "timestamp")}
    assert visits.item_checks["actionDetails"]["revenue"] == "numeric"
    assert "operatingSystem" in visits.known_fields
    # order of required fields = order of declaration (quarantine reasons name the first)
    assert STREAMS[("mailchimp", "sent_to")].required == (
        "campaign_id",
        "email_id",
        "email_address",
        "status",
    )


def test_removing_a_field_from_the_registry_fails_the_named_tests(tmp_path: Path):
    """`fingerprint` leaves matomo.yml: extraction no longer knows it, the dbt macro and the
    docs table drift, and stg_matomo__visits reads a field the registry lacks."""
    directory = registry_copy(tmp_path)
    without_line(directory / "matomo.yml", "fingerprint:")
    sources = load_registry(directory)

    assert "fingerprint" not in specs_from_registry(sources)[("matomo", "visits")].known_fields
    stale = drifted(artefacts(sources))
    assert DBT_MACRO in stale
    assert STREAMS_DOC in stale
    assert unregistered_reads(sources) == ["stg_matomo__visits: matomo/visits.fingerprint"]


def test_removing_a_field_a_suite_checks_names_the_check(tmp_path: Path):
    directory = registry_copy(tmp_path)
    without_line(directory / "zendesk.yml", "role:")
    with pytest.raises(RegistryError, match=r"role_known.*'role'.*zendesk\.yml"):
        artefacts(load_registry(directory))


def test_a_new_enumeration_value_reaches_suite_dbt_test_and_docs(tmp_path: Path):
    directory = registry_copy(tmp_path)
    replaced(
        directory / "zendesk.yml",
        "known_values: [end-user, agent, admin]",
        "known_values: [end-user, agent, admin, owner]",
    )
    derived = artefacts(load_registry(directory))
    assert set(drifted(derived)) == {
        DBT_MACRO,
        STREAMS_DOC,
        Path("expectations/landing/zendesk/users.json"),
    }
    assert '"zendesk/users/role": ["end-user", "agent", "admin", "owner"]' in derived[DBT_MACRO]


def test_a_file_drop_field_reaches_the_contracts_table(tmp_path: Path):
    directory = registry_copy(tmp_path)
    replaced(
        directory / "filedrop.yml",
        "      product_id: {parse: string}\n",
        "      product_id: {parse: string}\n      locale: {}\n",
    )
    sources = load_registry(directory)
    derived = artefacts(sources)
    assert CONTRACTS_DOC in drifted(derived)
    assert "title, reviewed_at, product_id, locale`" in derived[CONTRACTS_DOC]
    assert "locale" in specs_from_registry(sources)[("filedrop", "reviews")].known_fields
    assert sources_file("filedrop") not in drifted(derived)  # the sources list streams only


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("{parse: text}", "parse type 'text'"),
        ("{frame: decimal}", "frame must be one of"),
        ("{color: blue}", "unknown keys \\['color'\\]"),
        ("{pii: address}", "pii must be one of"),
    ],
)
def test_a_malformed_field_is_one_clear_error(tmp_path: Path, field: str, message: str):
    directory = registry_copy(tmp_path)
    replaced(directory / "matomo.yml", "fingerprint: {parse: string}", f"fingerprint: {field}")
    with pytest.raises(RegistryError, match=message):
        load_registry(directory)


def test_every_declared_personal_field_is_protected_in_failed_check_samples():
    """A field the registry marks `pii` never reaches a sample in the clear: e-mail and phone
    fields are pseudonymised by name, names and IPs masked (pipelines/privacy/samples.py)."""
    from pipelines.privacy.samples import SampleGuard

    guard = SampleGuard(None)
    personal = [
        (decl.name, path, field.pii)
        for decl in all_streams()
        for path, field in _flat_fields(decl.fields)
        if field.pii is not None
    ]
    assert len(personal) >= 20
    unprotected = [
        f"{name}: {path} ({kind})"
        for name, path, kind in personal
        if not (
            guard.kind_of_column(path.split(".")[-1]) == kind
            if kind in ("email", "phone")
            else guard.is_masked_column(path)
        )
    ]
    assert unprotected == []


def _flat_fields(fields, prefix=""):
    for name, field in fields.items():
        yield f"{prefix}{name}", field
        yield from _flat_fields({**field.items, **field.fields}, f"{prefix}{name}.")
