"""Secret references as a settings type: a field of this type holds `env:NAME`, `secret:NAME`, … never a value."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

__all__ = ["REF_PATTERN", "SECRET_SCHEMES", "SecretRef"]

SECRET_SCHEMES = ("env", "secret", "file", "vault", "esc")
REF_PATTERN = re.compile(r"^(env|secret|file|vault|esc):(.+)$")


def _check_secret_ref(value: str) -> str:
    if not REF_PATTERN.match(value):
        raise ValueError(
            "secret values must be references, not literals: use env:NAME, secret:NAME, file:/path,"
            " vault:PATH#KEY or esc:PROJECT/ENV#KEY"
        )
    return value


SecretRef = Annotated[str, AfterValidator(_check_secret_ref)]
"""A reference to a secret, resolved by `sophia.secrets` at use; never the secret itself."""
