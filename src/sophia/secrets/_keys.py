"""Vault keys: 32 random bytes, as urlsafe base64 (44 characters) in SOPHIA_MASTER_KEY or a key file."""

from __future__ import annotations

import base64
import binascii
import os

from sophia.errors import SecretError

MASTER_KEY_ENV = "SOPHIA_MASTER_KEY"
KEY_BYTES = 32


def generate_key() -> bytes:
    """A fresh AES-256 key from the operating system's CSPRNG."""
    return os.urandom(KEY_BYTES)


def encode_key(key: bytes) -> str:
    """The text form of a key, as it goes into SOPHIA_MASTER_KEY or a key file."""
    if len(key) != KEY_BYTES:
        raise SecretError(f"a vault key must be {KEY_BYTES} bytes long; generate one with generate_key()")
    return base64.urlsafe_b64encode(key).decode("ascii")


def decode_key(text: str, source: str) -> bytes:
    """Parse a key's text form; `source` names where it came from, for the error sentence."""
    cleaned = text.strip()
    padded = cleaned + "=" * (-len(cleaned) % 4)
    try:
        key = base64.urlsafe_b64decode(padded.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise SecretError(
            f"{source} is not a valid vault key; it must be the urlsafe base64 of {KEY_BYTES} random bytes"
            " (44 characters),"
            " e.g. from `openssl rand -base64 32 | tr '+/' '-_'`"
        )
    return key
