"""The local vault: round trips, key checks, key files, rotation and crash recovery."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sophia.secrets as secrets_pkg
from sophia.errors import InvalidInput, SecretError
from sophia.secrets import SecretBackend, Vault, _files, _vault, decode_key, encode_key, generate_key


def test_public_api_is_explicit() -> None:
    assert set(secrets_pkg.__all__) >= {
        "SecretBackend",
        "Vault",
        "SecretResolver",
        "Finding",
        "scan_path",
        "generate_key",
        "is_secret_ref",
    }
    for name in secrets_pkg.__all__:
        assert hasattr(secrets_pkg, name), name


def test_vault_implements_the_backend_protocol(tmp_path: Path) -> None:
    assert isinstance(Vault(tmp_path), SecretBackend)


def test_vault_round_trip_survives_a_new_instance(tmp_path: Path) -> None:
    Vault(tmp_path).set("github", "value-one-1234")
    Vault(tmp_path).set("openai", "value-two-5678")
    reopened = Vault(tmp_path)
    assert reopened.get("github") == "value-one-1234"
    assert reopened.get("openai") == "value-two-5678"
    assert reopened.get("missing") is None
    assert reopened.names() == ["github", "openai"]


def test_set_replaces_and_delete_removes(tmp_path: Path) -> None:
    vault = Vault(tmp_path)
    vault.set("db", "first-value-1")
    vault.set("db", "second-value-2")
    assert vault.get("db") == "second-value-2"
    assert vault.delete("db") is True
    assert vault.delete("db") is False
    assert vault.get("db") is None
    assert vault.names() == []


def test_reading_a_missing_vault_writes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    vault = Vault(home)
    assert vault.get("x") is None
    assert vault.names() == []
    assert vault.delete("x") is False
    assert not home.exists()


def test_values_are_not_stored_in_clear(tmp_path: Path) -> None:
    canary = "canary-" + os.urandom(8).hex()
    Vault(tmp_path).set("token", canary)
    assert canary.encode() not in (tmp_path / "vault.json").read_bytes()


def test_each_write_uses_a_fresh_nonce(tmp_path: Path) -> None:
    vault = Vault(tmp_path)
    vault.set("a", "same-value-123")
    first = json.loads((tmp_path / "vault.json").read_text())["entries"]["a"]
    vault.set("a", "same-value-123")
    second = json.loads((tmp_path / "vault.json").read_text())["entries"]["a"]
    assert first != second


def test_swapped_entries_fail_authentication(tmp_path: Path) -> None:
    vault = Vault(tmp_path)
    vault.set("a", "value-of-a-111")
    vault.set("b", "value-of-b-222")
    path = tmp_path / "vault.json"
    doc = json.loads(path.read_text())
    doc["entries"]["a"], doc["entries"]["b"] = doc["entries"]["b"], doc["entries"]["a"]
    path.write_text(json.dumps(doc))
    with pytest.raises(SecretError, match="fails authentication") as caught:
        vault.get("a")
    assert "value-of" not in str(caught.value)


def test_key_file_is_created_private_on_first_write(tmp_path: Path) -> None:
    home = tmp_path / "home"
    Vault(home).set("x", "some-value-1")
    key_file = home / "vault.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "vault.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert len(decode_key(key_file.read_text(), "test")) == 32


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    Vault(tmp_path).set("x", "some-value-1")
    before = (tmp_path / "vault.json").read_bytes()
    (tmp_path / "vault.key").chmod(mode)
    with pytest.raises(SecretError, match="chmod 600"):
        Vault(tmp_path).set("y", "other-value-2")
    assert (tmp_path / "vault.json").read_bytes() == before


def test_custom_key_file_location_is_used(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "sophia.key"
    Vault(tmp_path / "home", key_file).set("x", "some-value-1")
    assert key_file.exists()
    assert not (tmp_path / "home" / "vault.key").exists()
    assert Vault(tmp_path / "home", key_file).get("x") == "some-value-1"


def _master(key: bytes) -> dict[str, str]:
    return {"SOPHIA_MASTER_KEY": encode_key(key)}


def test_master_key_from_environment_writes_no_key_file(tmp_path: Path) -> None:
    key = generate_key()
    Vault(tmp_path, environ=_master(key)).set("x", "some-value-1")
    assert not (tmp_path / "vault.key").exists()
    assert Vault(tmp_path, environ=_master(key)).get("x") == "some-value-1"
    unpadded = {"SOPHIA_MASTER_KEY": encode_key(key).rstrip("=")}
    assert Vault(tmp_path, environ=unpadded).get("x") == "some-value-1"


@pytest.mark.parametrize("text", ["", "short", "!" * 44, encode_key(b"k" * 32)[:-8]])
def test_malformed_master_key_is_refused_without_echoing_it(tmp_path: Path, text: str) -> None:
    with pytest.raises(SecretError, match="SOPHIA_MASTER_KEY is not a valid vault key") as caught:
        Vault(tmp_path, environ={"SOPHIA_MASTER_KEY": text or " "})
    if text:
        assert text not in caught.value.message


Operation = Callable[[Vault], Any]
_OPERATIONS: dict[str, Operation] = {
    "get": lambda v: v.get("x"),
    "set": lambda v: v.set("y", "new-value-999"),
    "delete": lambda v: v.delete("x"),
    "names": lambda v: v.names(),
    "rotate": lambda v: v.rotate_key(),
}


@pytest.mark.parametrize("operation", sorted(_OPERATIONS))
def test_wrong_master_key_is_refused_and_vault_unchanged(tmp_path: Path, operation: str) -> None:
    tmp_path = tmp_path / "home"
    right, wrong = generate_key(), generate_key()
    Vault(tmp_path, environ=_master(right)).set("x", "original-value-1")
    before = (tmp_path / "vault.json").read_bytes()
    with pytest.raises(SecretError) as caught:
        _OPERATIONS[operation](Vault(tmp_path, environ=_master(wrong)))
    assert caught.value.message == (
        f"the master key does not open the vault at {tmp_path / 'vault.json'};"
        " set SOPHIA_MASTER_KEY to the key it was created with"
    )
    assert encode_key(wrong) not in caught.value.message
    assert (tmp_path / "vault.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vault.json", "vault.json.lock"]


@pytest.mark.parametrize("operation", sorted(_OPERATIONS))
def test_wrong_key_file_is_refused_and_vault_unchanged(tmp_path: Path, operation: str) -> None:
    Vault(tmp_path).set("x", "original-value-1")
    key_file = tmp_path / "vault.key"
    key_file.write_text(encode_key(generate_key()) + "\n")
    before = (tmp_path / "vault.json").read_bytes()
    with pytest.raises(SecretError, match="does not open the vault"):
        _OPERATIONS[operation](Vault(tmp_path))
    assert (tmp_path / "vault.json").read_bytes() == before


def test_missing_key_file_for_existing_vault_is_a_clear_error(tmp_path: Path) -> None:
    Vault(tmp_path).set("x", "original-value-1")
    (tmp_path / "vault.key").unlink()
    before = (tmp_path / "vault.json").read_bytes()
    with pytest.raises(SecretError, match="key file .* is missing"):
        Vault(tmp_path).set("y", "other-value-2")
    assert (tmp_path / "vault.json").read_bytes() == before
    assert not (tmp_path / "vault.key").exists()


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe",
        b"[]",
        b'{"format": 1}',
        b'{"format": 1, "cipher": "AES-256-GCM", "check": "!!"}',
    ],
)
def test_corrupt_vault_is_a_clear_error_and_left_untouched(tmp_path: Path, content: bytes) -> None:
    Vault(tmp_path).set("x", "original-value-1")
    (tmp_path / "vault.json").write_bytes(content)
    with pytest.raises(SecretError, match="damaged"):
        Vault(tmp_path).set("y", "other-value-2")
    assert (tmp_path / "vault.json").read_bytes() == content


def test_newer_format_is_refused_with_upgrade_hint(tmp_path: Path) -> None:
    Vault(tmp_path).set("x", "original-value-1")
    path = tmp_path / "vault.json"
    doc = json.loads(path.read_text())
    doc["format"] = 2
    path.write_text(json.dumps(doc))
    with pytest.raises(SecretError, match="upgrade Sophia"):
        Vault(tmp_path).get("x")


@pytest.mark.parametrize("name", ["", " lead", "has space", "-dash", "x" * 129, "new\nline"])
def test_invalid_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput, match="not a valid secret name"):
        Vault(tmp_path).set(name, "some-value-1")


def test_empty_value_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        Vault(tmp_path).set("x", "")


# -- rotation ----------------------------------------------------------------------------------------------

_ENTRIES = {"github": "gh-value-0001", "openai": "oa-value-0002", "db/url": "postgres-0003"}


def _fill(vault: Vault) -> None:
    for name, value in _ENTRIES.items():
        vault.set(name, value)


def _assert_entries(vault: Vault) -> None:
    assert vault.names() == sorted(_ENTRIES)
    assert {name: vault.get(name) for name in _ENTRIES} == _ENTRIES


def test_rotate_key_reencrypts_every_entry(tmp_path: Path) -> None:
    vault = Vault(tmp_path)
    _fill(vault)
    old_key = decode_key((tmp_path / "vault.key").read_text(), "test")
    old_entries = json.loads((tmp_path / "vault.json").read_text())["entries"]

    new_key = vault.rotate_key()

    assert new_key != old_key
    assert decode_key((tmp_path / "vault.key").read_text(), "test") == new_key
    assert stat.S_IMODE((tmp_path / "vault.key").stat().st_mode) == 0o600
    assert not (tmp_path / "vault.key.new").exists()
    new_entries = json.loads((tmp_path / "vault.json").read_text())["entries"]
    assert all(new_entries[name] != old_entries[name] for name in _ENTRIES)
    _assert_entries(Vault(tmp_path))
    _assert_entries(Vault(tmp_path, environ=_master(new_key)))
    with pytest.raises(SecretError, match="does not open the vault"):
        Vault(tmp_path, environ=_master(old_key)).get("github")


def test_rotate_key_with_master_key_returns_new_key_and_writes_no_key_file(tmp_path: Path) -> None:
    old_key, chosen = generate_key(), generate_key()
    vault = Vault(tmp_path, environ=_master(old_key))
    _fill(vault)
    assert vault.rotate_key(chosen) == chosen
    assert not (tmp_path / "vault.key").exists()
    assert not (tmp_path / "vault.key.new").exists()
    _assert_entries(vault)
    _assert_entries(Vault(tmp_path, environ=_master(chosen)))
    with pytest.raises(SecretError, match="does not open the vault"):
        Vault(tmp_path, environ=_master(old_key)).names()


def test_rotate_key_refuses_a_key_of_the_wrong_size(tmp_path: Path) -> None:
    vault = Vault(tmp_path)
    _fill(vault)
    before = (tmp_path / "vault.json").read_bytes()
    with pytest.raises(InvalidInput, match="32 bytes"):
        vault.rotate_key(b"too short")
    assert (tmp_path / "vault.json").read_bytes() == before


class _Crash(Exception):
    """Stands for the process dying at this instant."""


@pytest.mark.parametrize("crash_at", [1, 2, 3])
def test_interrupted_rotation_leaves_the_vault_openable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_at: int
) -> None:
    """Rotation makes three renames (new key file, vault, key file); a crash before any of them is recovered."""
    vault = Vault(tmp_path)
    _fill(vault)
    old_key_text = (tmp_path / "vault.key").read_text()
    real_replace = _files.replace_durably
    calls: list[Path] = []

    def crashing_replace(source: Path, target: Path) -> None:
        calls.append(target)
        if len(calls) == crash_at:
            raise _Crash
        real_replace(source, target)

    monkeypatch.setattr(_files, "replace_durably", crashing_replace)
    monkeypatch.setattr(_vault, "replace_durably", crashing_replace)
    with pytest.raises(_Crash):
        vault.rotate_key()
    monkeypatch.undo()
    assert [p.name for p in calls] == ["vault.key.new", "vault.json", "vault.key"][:crash_at]

    reopened = Vault(tmp_path)
    _assert_entries(reopened)
    assert not (tmp_path / "vault.key.new").exists()
    key_now = decode_key((tmp_path / "vault.key").read_text(), "test")
    if crash_at == 3:  # the vault was already re-encrypted: opening it finished the rotation
        assert (tmp_path / "vault.key").read_text() != old_key_text
    else:
        assert (tmp_path / "vault.key").read_text() == old_key_text
    _assert_entries(Vault(tmp_path, environ=_master(key_now)))
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_rotation_can_run_again_after_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = Vault(tmp_path)
    _fill(vault)

    def crash(source: Path, target: Path) -> None:
        raise _Crash

    monkeypatch.setattr(_vault, "replace_durably", crash)
    with pytest.raises(_Crash):
        vault.rotate_key()
    monkeypatch.undo()
    new_key = Vault(tmp_path).rotate_key()
    _assert_entries(Vault(tmp_path, environ=_master(new_key)))


def test_leftovers_of_a_crashed_writer_are_removed_on_open(tmp_path: Path) -> None:
    vault = Vault(tmp_path)
    _fill(vault)
    (tmp_path / ".vault.json.0a1b2c.tmp").write_bytes(b"half a vault")
    (tmp_path / ".vault.key.new.3d4e5f.tmp").write_bytes(b"half a key")
    (tmp_path / "vault.key.new").write_text(encode_key(generate_key()) + "\n")
    _assert_entries(Vault(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("vault", ".vault"))) == [
        "vault.json",
        "vault.json.lock",
        "vault.key",
    ]


def test_concurrent_writers_lose_no_update(tmp_path: Path) -> None:
    def writer(worker: int) -> None:
        vault = Vault(tmp_path)
        for i in range(5):
            vault.set(f"w{worker}-{i}", f"value-{worker}-{i}-xyz")

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(writer, range(6)))
    reader = Vault(tmp_path)
    assert len(reader.names()) == 30
    assert reader.get("w5-4") == "value-5-4-xyz"


# -- property: any set of entries round-trips through the file ---------------------------------------------

_names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-/@:]{0,30}", fullmatch=True)
_values = st.text(min_size=1, max_size=200)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.dictionaries(_names, _values, max_size=8))
def test_any_entries_round_trip_through_the_vault_file(entries: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        home = Path(directory)
        writer = Vault(home)
        for name, value in entries.items():
            writer.set(name, value)
        reader = Vault(home)
        assert reader.names() == sorted(entries)
        assert {name: reader.get(name) for name in entries} == entries
