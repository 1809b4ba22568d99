"""The vault file's content: AES-256-GCM entries bound to their names, plus a key check.

Layout (JSON): {"format": 1, "cipher": "AES-256-GCM", "check": B64, "entries": {NAME: B64}}, where each B64
is a fresh 12-byte nonce, then the ciphertext and its 16-byte tag. An entry's associated data is its name,
so entries cannot be swapped; the check seals a constant, so a wrong key is found before anything is written.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sophia.errors import SecretError

FORMAT_VERSION = 1
CIPHER = "AES-256-GCM"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_CHECK_PLAINTEXT = b"sophia vault key check"
_CHECK_AAD = b"sophia-vault/1\x00check"
_ENTRY_AAD = b"sophia-vault/1\x00entry\x00"


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, aad)).decode("ascii")


def _open(key: bytes, sealed: str, aad: bytes) -> bytes:
    """Decrypt a sealed blob; raises InvalidTag for a wrong key or altered bytes."""
    raw = base64.b64decode(sealed)
    return AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], aad)


def _entry_aad(name: str) -> bytes:
    return _ENTRY_AAD + name.encode("utf-8")


def _valid_blob(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return len(base64.b64decode(value, validate=True)) >= _NONCE_BYTES + _TAG_BYTES
    except (binascii.Error, ValueError):
        return False


@dataclass
class VaultDocument:
    """The parsed vault file: names in clear, values sealed."""

    check: str
    entries: dict[str, str] = field(default_factory=dict)

    @classmethod
    def new(cls, key: bytes) -> VaultDocument:
        return cls(check=_seal(key, _CHECK_PLAINTEXT, _CHECK_AAD))

    @classmethod
    def parse(cls, data: bytes, path: Path) -> VaultDocument:
        """Read the file's bytes; anything unexpected is a SecretError and the file stays as it is."""
        damaged = f"the vault file {path} is damaged or not a Sophia vault; restore it from a backup"
        try:
            raw = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise SecretError(f"{damaged} (it is not valid JSON)") from None
        if not isinstance(raw, dict) or raw.get("cipher") != CIPHER:
            raise SecretError(damaged)
        if raw.get("format") != FORMAT_VERSION:
            raise SecretError(
                f"the vault file {path} has format {raw.get('format')!r}, which this version of Sophia cannot"
                f" read (it reads format {FORMAT_VERSION}); upgrade Sophia"
            )
        entries = raw.get("entries")
        if not _valid_blob(raw.get("check")) or not isinstance(entries, dict):
            raise SecretError(damaged)
        if not all(isinstance(name, str) and _valid_blob(blob) for name, blob in entries.items()):
            raise SecretError(damaged)
        return cls(check=raw["check"], entries=dict(entries))

    def serialize(self) -> bytes:
        body = {"format": FORMAT_VERSION, "cipher": CIPHER, "check": self.check, "entries": self.entries}
        return (json.dumps(body, indent=2, sort_keys=True) + "\n").encode("utf-8")

    def opens_with(self, key: bytes) -> bool:
        try:
            return _open(key, self.check, _CHECK_AAD) == _CHECK_PLAINTEXT
        except InvalidTag:
            return False

    def seal(self, key: bytes, name: str, value: str) -> None:
        self.entries[name] = _seal(key, value.encode("utf-8"), _entry_aad(name))

    def unseal(self, key: bytes, name: str, path: Path) -> str | None:
        sealed = self.entries.get(name)
        if sealed is None:
            return None
        try:
            return _open(key, sealed, _entry_aad(name)).decode("utf-8")
        except (InvalidTag, UnicodeDecodeError):
            raise SecretError(
                f"the vault entry {name!r} in {path} fails authentication (the file was altered);"
                " restore the vault from a backup or set the entry again"
            ) from None

    def reencrypted(self, old_key: bytes, new_key: bytes, path: Path) -> VaultDocument:
        """A copy sealed with `new_key`; every entry is decrypted first, so a bad entry stops the rotation."""
        fresh = VaultDocument.new(new_key)
        for name in self.entries:
            value = self.unseal(old_key, name, path)
            assert value is not None
            fresh.seal(new_key, name, value)
        return fresh
