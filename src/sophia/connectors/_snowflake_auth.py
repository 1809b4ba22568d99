"""Snowflake's SQL API credentials: a key-pair JWT (RS256, renewed before its hour is up) or a programmatic
access token, each named by `X-Snowflake-Authorization-Token-Type`."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sophia.connectors._auth import Resolve
from sophia.connectors._errors import ConnectorNotConfigured
from sophia.observability import redactor

__all__ = ["SnowflakeAuth", "keypair_jwt"]

_LIFETIME = 3540.0
_MARGIN = 300.0
_TYPE = "X-Snowflake-Authorization-Token-Type"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _account(account: str) -> str:
    """The account part of the JWT claims: upper case, without a locator's region (`xy12345.us-east-2`)."""
    return account.split(".")[0].upper()


def keypair_jwt(account: str, user: str, private_key_pem: str, now: float) -> str:
    """The JWT Snowflake's key-pair authentication documents: iss `ACCOUNT.USER.SHA256:<fingerprint>`."""
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ConnectorNotConfigured(
            "Snowflake: credentials.private_key is not an unencrypted PEM private key", service="Snowflake"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConnectorNotConfigured("Snowflake: the key-pair key must be an RSA key", service="Snowflake")
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fingerprint = base64.b64encode(hashlib.sha256(public).digest()).decode()
    qualified = f"{_account(account)}.{user.upper()}"
    claims = {
        "iss": f"{qualified}.SHA256:{fingerprint}",
        "sub": qualified,
        "iat": int(now),
        "exp": int(now + _LIFETIME),
    }
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{_b64(signature)}"


class SnowflakeAuth:
    """`credentials.private_key` (with options.account and options.user) → KEYPAIR_JWT; else `credentials.token`
    → PROGRAMMATIC_ACCESS_TOKEN."""

    def __init__(
        self,
        resolve: Resolve,
        *,
        keypair: bool,
        account: str,
        user: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._resolve, self._keypair, self._account, self._user = resolve, keypair, account, user
        self._clock = clock
        self._jwt: tuple[str, float] | None = None

    async def headers(self) -> dict[str, str]:
        if not self._keypair:
            return {"Authorization": f"Bearer {self._resolve('token')}", _TYPE: "PROGRAMMATIC_ACCESS_TOKEN"}
        now = self._clock()
        if self._jwt is None or self._jwt[1] - _MARGIN <= now:
            if not (self._account and self._user):
                raise ConnectorNotConfigured(
                    "Snowflake: key-pair auth needs options.account and options.user", service="Snowflake"
                )
            token = keypair_jwt(self._account, self._user, self._resolve("private_key"), now)
            redactor.add(token)
            self._jwt = (token, now + _LIFETIME)
        return {"Authorization": f"Bearer {self._jwt[0]}", _TYPE: "KEYPAIR_JWT"}

    async def refresh(self) -> bool:
        """A 401 on a key-pair JWT: sign a new one once (clock skew); a refused PAT stays refused."""
        if not self._keypair:
            return False
        self._jwt = None
        return True
