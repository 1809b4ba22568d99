"""Pending approvals keep the exact arguments for the later call sealed (AES-GCM), never in clear in the DB."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sophia.tools._errors import ApprovalStateError

__all__ = ["ArgumentSealer"]

_NONCE_BYTES = 12


class ArgumentSealer:
    """Seals argument objects bound to their approval id. Without a key, a random one lives for the process.

    Pass a stable 32-byte key (e.g. from the vault) so approvals survive a restart.
    """

    def __init__(self, key: bytes | None = None) -> None:
        if key is not None and len(key) != 32:
            raise ValueError("the argument sealing key must be 32 bytes")
        self._aead = AESGCM(key or AESGCM.generate_key(bit_length=256))

    def seal(self, arguments: dict[str, Any], approval_id: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        plain = json.dumps(arguments, separators=(",", ":"), sort_keys=True).encode()
        return base64.urlsafe_b64encode(
            nonce + self._aead.encrypt(nonce, plain, approval_id.encode())
        ).decode()

    def open(self, sealed: str, approval_id: str) -> dict[str, Any]:
        try:
            raw = base64.urlsafe_b64decode(sealed.encode())
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], approval_id.encode())
        except (InvalidTag, ValueError):
            raise ApprovalStateError(
                f"the arguments of approval {approval_id} cannot be opened with this server's key "
                "(was it requested before a restart without a stable sealing key?); request the call again"
            ) from None
        opened: dict[str, Any] = json.loads(plain)
        return opened
