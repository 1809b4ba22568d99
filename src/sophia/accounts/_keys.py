"""API keys are `sph_<8-char prefix>_<secret>`: the prefix finds the row, a SHA-256 proves the key."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string

__all__ = ["KEY_PATTERN", "PREFIX_LENGTH", "generate_key", "hash_key", "hashes_match", "parse_prefix"]

PREFIX_LENGTH = 8
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_SECRET_BYTES = 32  # token_urlsafe(32) gives 43 characters
KEY_PATTERN = re.compile(r"sph_([a-z0-9]{8})_([A-Za-z0-9_-]{32,128})")


def generate_key() -> tuple[str, str]:
    """A new (prefix, plaintext key). Keys are high-entropy, so a fast hash is enough to store them."""
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    return prefix, f"sph_{prefix}_{secrets.token_urlsafe(_SECRET_BYTES)}"


def parse_prefix(plaintext: str) -> str | None:
    """The prefix of a well-formed key, or None for anything else."""
    match = KEY_PATTERN.fullmatch(plaintext)
    return match.group(1) if match else None


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def hashes_match(stored: str, candidate: str) -> bool:
    """Constant-time comparison, so response timing says nothing about how much of a hash matched."""
    return hmac.compare_digest(stored.encode("ascii"), candidate.encode("ascii"))
