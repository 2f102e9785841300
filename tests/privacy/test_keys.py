"""The pseudonymisation key (issue 18, item 5): a strong key is required, its fingerprint is
stored with the warehouse, and a different key is refused unless `rotate-key` was run."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main as cli
from pipelines.privacy.keys import (
    KeyChangedError,
    PublishedKey,
    fingerprint_frame,
    key_fingerprint,
    published_key,
    rotation_path,
    verify_key,
)
from pipelines.privacy.secrets import secret_forms
from pipelines.settings import Secret, Settings, SettingsError, temporary_environment

STRONG = "k7Qm2vX9pL4sR8tW1yZ6bN3cF5hJ0dGe-Ua_Ti"  # 38 characters, no pattern
OTHER = "Zr8-fW3nQ0xTj6LbV1yHs4KcA9mEu2Pd_Go7Ri5N"
HEX = "9f1c4be07a3d52e8c6b1f04a7d9e3c28b5f60a1de47c93b08f2e6d1a5c7b3e90"


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("s3cret", "6 characters, at least 32 are needed"),
        ("correcthorse" * 3, "it repeats a shorter pattern"),
        ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "bits of entropy, at least 128 are needed"),
        ("0123456789abcdefghijklmnopqrstuvwxyz", "a run of 26 consecutive characters"),
        ("abababababababababababababababab", "it repeats a shorter pattern"),
    ],
)
def test_weak_keys_are_refused_naming_the_variable(key: str, problem: str):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"JOURNEY_PSEUDONYMIZE_KEY": key})
    message = str(caught.value)
    assert message.startswith("JOURNEY_PSEUDONYMIZE_KEY is too weak: ")
    assert problem in message and "secrets.token_urlsafe(32)" in message
    assert key not in message


@pytest.mark.parametrize("key", [STRONG, OTHER, HEX])
def test_strong_keys_are_accepted(key: str):
    settings = Settings.from_env({"JOURNEY_PSEUDONYMIZE_KEY": f"  {key} "})
    assert settings.pseudonymize_key.reveal() == key


def test_the_fingerprint_names_the_key_without_revealing_it():
    first = key_fingerprint(Secret(STRONG))
    assert first == key_fingerprint(Secret(STRONG)) != key_fingerprint(Secret(OTHER))
    assert first.startswith("hmac-sha256:") and len(first) == len("hmac-sha256:") + 64
    assert key_fingerprint(None) is None
    assert not any(form in first for form in secret_forms(STRONG))


def publish_fingerprint(path: Path, key: Secret | None) -> None:
    """A published warehouse holding the fingerprint table, as dbt publishes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = fingerprint_frame(key, ("email", "phone"))
    with duckdb.connect(str(path)) as con:
        con.register("fingerprint", frame)
        con.execute("create schema if not exists identity")
        con.execute("create or replace table identity.identity_key_fingerprint as from fingerprint")


@pytest.fixture
def warehouse(tmp_path: Path) -> dict[str, str]:
    return {
        "JOURNEY_DATA_DIR": str(tmp_path / "data"),
        "JOURNEY_WAREHOUSE_PATH": str(tmp_path / "warehouse" / "journey.duckdb"),
    }


def settings_with(env: dict[str, str], key: str | None) -> Settings:
    return Settings.from_env({**env, **({"JOURNEY_PSEUDONYMIZE_KEY": key} if key else {})})


def test_the_published_fingerprint_is_read_back(warehouse):
    settings = settings_with(warehouse, STRONG)
    assert published_key(settings) == PublishedKey(found=False)
    publish_fingerprint(settings.warehouse_path, Secret(STRONG))
    assert published_key(settings) == PublishedKey(True, key_fingerprint(Secret(STRONG)))
    publish_fingerprint(settings.warehouse_path, None)
    assert published_key(settings) == PublishedKey(True, None)


def test_the_same_key_and_the_first_night_are_allowed(warehouse):
    settings = settings_with(warehouse, STRONG)
    assert "no fingerprint published yet" in verify_key(
        published_key(settings), settings.pseudonymize_key, settings.state_dir
    )
    publish_fingerprint(settings.warehouse_path, Secret(STRONG))
    assert "the published one" in verify_key(
        published_key(settings), settings.pseudonymize_key, settings.state_dir
    )


@pytest.mark.parametrize(
    ("published", "tonight"), [(STRONG, OTHER), (STRONG, None), (None, STRONG)]
)
def test_a_different_key_is_refused_without_a_rotation(warehouse, published, tonight):
    settings = settings_with(warehouse, tonight)
    publish_fingerprint(settings.warehouse_path, Secret(published) if published else None)
    with pytest.raises(KeyChangedError) as caught:
        verify_key(published_key(settings), settings.pseudonymize_key, settings.state_dir)
    message = str(caught.value)
    assert "JOURNEY_PSEUDONYMIZE_KEY" in message and "python -m pipelines rotate-key" in message
    for key in (published, tonight):
        assert key is None or not any(form in message for form in secret_forms(key))
    # the command line stops before running anything, with the same one line
    tonight_env = dict(warehouse, JOURNEY_PSEUDONYMIZE_KEY=tonight or "")
    with temporary_environment(tonight_env), pytest.raises(SystemExit) as stopped:
        cli(["run", "--date", "2026-01-01"])
    assert str(stopped.value) == message


def test_rotate_key_allows_exactly_the_recorded_change(warehouse, capsys):
    publish_fingerprint(Path(warehouse["JOURNEY_WAREHOUSE_PATH"]), Secret(STRONG))
    with temporary_environment(dict(warehouse, JOURNEY_PSEUDONYMIZE_KEY=OTHER)):
        assert cli(["rotate-key"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("key rotation recorded (") and "re-keys" in printed
    assert OTHER not in printed and STRONG not in printed
    settings = settings_with(warehouse, OTHER)
    decision = verify_key(published_key(settings), settings.pseudonymize_key, settings.state_dir)
    assert decision.startswith("pseudonymisation key rotation ")
    # a third key is still refused: the rotation names its target
    third = settings_with(warehouse, HEX)
    with pytest.raises(KeyChangedError):
        verify_key(published_key(third), third.pseudonymize_key, third.state_dir)
    # once the new key is published, the rotation record is done with and removed
    publish_fingerprint(settings.warehouse_path, Secret(OTHER))
    assert "the published one" in verify_key(
        published_key(settings), settings.pseudonymize_key, settings.state_dir
    )
    assert not rotation_path(settings.state_dir).exists()
    # and going back to the old key now needs a rotation of its own
    back = settings_with(warehouse, STRONG)
    with pytest.raises(KeyChangedError):
        verify_key(published_key(back), back.pseudonymize_key, back.state_dir)


def test_rotate_key_with_nothing_to_rotate_or_a_weak_key(warehouse, capsys):
    with temporary_environment(dict(warehouse, JOURNEY_PSEUDONYMIZE_KEY=STRONG)):
        assert cli(["rotate-key"]) == 0
        assert capsys.readouterr().out.startswith("nothing to rotate: no published warehouse")
        publish_fingerprint(Path(warehouse["JOURNEY_WAREHOUSE_PATH"]), Secret(STRONG))
        assert cli(["rotate-key"]) == 0
        assert "is the published key" in capsys.readouterr().out
    weak = dict(warehouse, JOURNEY_PSEUDONYMIZE_KEY="too-short")
    with temporary_environment(weak), pytest.raises(SystemExit) as stopped:
        cli(["rotate-key"])
    assert str(stopped.value).startswith("JOURNEY_PSEUDONYMIZE_KEY is too weak: 9 characters")
