"""RS256 JWTs signed with `cryptography` (GitHub App JWTs, Salesforce's JWT bearer flow): one fixed header, so
no JWT library is needed."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sophia.connectors._errors import ConnectorNotConfigured

__all__ = ["rs256_jwt"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rs256_jwt(claims: dict[str, Any], private_key_pem: str, *, service: str, where: str) -> str:
    """`claims` signed with the RSA key; `where` names the credential in the error when the key is unusable."""
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ConnectorNotConfigured(
            f"{service}: {where} is not a PEM private key", service=service
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConnectorNotConfigured(f"{service}: {where} must be an RSA key", service=service)
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{_b64(signature)}"
