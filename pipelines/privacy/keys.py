"""The pseudonymisation key: strong enough, fingerprinted with the warehouse, rotated only on
purpose.

* The key's strength is checked when the settings are read (`pipelines.privacy.strength`).
* `key_fingerprint` is HMAC-SHA256(key, a fixed label): it identifies the key without revealing
  anything that helps guess it. The identity step stores it with the warehouse (table
  `identity.identity_key_fingerprint`, null when nothing is pseudonymised).
* `verify_key` compares tonight's key with the published warehouse's: a different key (or
  turning the key on or off) would silently re-key every pseudonymised identifier and the person
  ids derived from them, so it is refused unless `request_rotation` (the command
  `python -m pipelines rotate-key`) recorded that exact change beforehand.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.settings import Secret, Settings

if TYPE_CHECKING:
    import polars as pl

KEY_VARIABLE = "JOURNEY_PSEUDONYMIZE_KEY"
FINGERPRINT_LABEL = b"journey-warehouse/pseudonymisation-key-fingerprint/v1"
ROTATION_FILE = "pseudonymisation_key_rotation.json"
FINGERPRINT_TABLE = "identity_key_fingerprint"


class KeyChangedError(RuntimeError):
    """Tonight's key is not the one the published warehouse was pseudonymised with."""


def key_fingerprint(key: Secret | None) -> str | None:
    """`hmac-sha256:` + HMAC-SHA256(key, a fixed label) in hex; None without a key."""
    if key is None:
        return None
    digest = hmac.new(key.reveal().encode("utf-8"), FINGERPRINT_LABEL, hashlib.sha256)
    return "hmac-sha256:" + digest.hexdigest()


def describe(fingerprint: str | None) -> str:
    """A short form for messages: the first hex digits, or `no key`."""
    return "no key" if fingerprint is None else fingerprint.split(":")[-1][:12] + "…"


@dataclass(frozen=True)
class PublishedKey:
    """The fingerprint stored with the published warehouse (`found`: the table exists)."""

    found: bool
    fingerprint: str | None = None


@dataclass(frozen=True)
class Rotation:
    """A deliberate key change recorded by `python -m pipelines rotate-key`."""

    from_fingerprint: str | None
    to_fingerprint: str | None
    requested_at: str


def rotation_path(state_dir: Path) -> Path:
    return Path(state_dir) / ROTATION_FILE


def read_rotation(state_dir: Path) -> Rotation | None:
    path = rotation_path(state_dir)
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text())
        return Rotation(raw["from"], raw["to"], raw["requested_at"])
    except (ValueError, KeyError, TypeError) as error:
        raise KeyChangedError(
            f"the key rotation record {path} is unreadable ({type(error).__name__}); delete it "
            "and run `python -m pipelines rotate-key` again"
        ) from error


def request_rotation(state_dir: Path, published: PublishedKey, key: Secret | None) -> Rotation:
    """Record that the next runs may change the published key to `key` (None: stop
    pseudonymising). Written atomically; replaces an earlier request."""
    rotation = Rotation(
        published.fingerprint, key_fingerprint(key), datetime.now(UTC).isoformat(timespec="seconds")
    )
    path = rotation_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    record = {
        "from": rotation.from_fingerprint,
        "to": rotation.to_fingerprint,
        "requested_at": rotation.requested_at,
    }
    temporary.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(temporary, path)
    return rotation


def verify_key(published: PublishedKey, key: Secret | None, state_dir: Path) -> str:
    """Allow tonight's key, or raise `KeyChangedError` saying what to do.

    Allowed: nothing published with a fingerprint yet (the first night, or a warehouse from
    before fingerprints); the published key; or the change a pending rotation names. A rotation
    record that no longer applies (the new key is published, or the old one is back) is removed.
    Returns a one-line description of the decision for the run log.
    """
    current = key_fingerprint(key)
    rotation = read_rotation(state_dir)
    if not published.found:
        return f"pseudonymisation key {describe(current)}: no fingerprint published yet"
    if published.fingerprint == current:
        if rotation is not None:
            rotation_path(state_dir).unlink(missing_ok=True)
        return f"pseudonymisation key {describe(current)}: the published one"
    if (
        rotation is not None
        and rotation.from_fingerprint == published.fingerprint
        and rotation.to_fingerprint == current
    ):
        return (
            f"pseudonymisation key rotation {describe(published.fingerprint)} -> "
            f"{describe(current)} (requested {rotation.requested_at})"
        )
    raise KeyChangedError(
        f"{KEY_VARIABLE} ({describe(current)}) is not the key the published warehouse was "
        f"pseudonymised with ({describe(published.fingerprint)}); using it would silently "
        "re-key every pseudonymised identifier and the person ids derived from them. Set the "
        "previous key again, or change it on purpose with `python -m pipelines rotate-key` "
        "(docs/operations.md, 'Key rotation')"
    )


def published_key(settings: Settings) -> PublishedKey:
    """The fingerprint stored with the published warehouse (`settings`: `Settings`)."""
    from pipelines.warehouse.published import read_published_table

    frame = read_published_table(settings, "identity", FINGERPRINT_TABLE)
    if frame is None or frame.is_empty():
        return PublishedKey(found=False)
    return PublishedKey(found=True, fingerprint=frame["key_fingerprint"][0])


def fingerprint_frame(key: Secret | None, kinds: tuple[str, ...]) -> pl.DataFrame:
    """The one row of `identity.identity_key_fingerprint` for a build with `key`. It says
    nothing of the run, so re-running a night publishes the same table (idempotence)."""
    import polars as pl

    return pl.DataFrame(
        {
            "key_fingerprint": [key_fingerprint(key)],
            "pseudonymized_kinds": [",".join(kinds) if key is not None else ""],
        },
        schema={"key_fingerprint": pl.String, "pseudonymized_kinds": pl.String},
    )


def write_fingerprint(out_dir: Path, frame: pl.DataFrame) -> Path:
    """`<out_dir>/identity_key_fingerprint.parquet`, written atomically beside the identity
    tables (dbt publishes it from there like them)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{FINGERPRINT_TABLE}.parquet"
    temporary = out_dir / f".{FINGERPRINT_TABLE}.parquet.tmp"
    frame.write_parquet(temporary)
    os.replace(temporary, path)
    return path
