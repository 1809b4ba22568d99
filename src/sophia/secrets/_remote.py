"""Central secret managers behind `vault:PATH#KEY` (HashiCorp Vault KV v2) and `esc:PROJECT/ENV#KEY` (Pulumi ESC).

Values are cached for a bounded time (`cache_seconds`), so a rotated secret is read again without a restart, and are
registered with the redactor; errors name the reference and the status, never a value or a token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from sophia.config import EscSettings, VaultSettings
from sophia.errors import SecretError
from sophia.observability import redactor

Resolve = Callable[[str], str]
"""Resolves a local reference (env:, secret:, file:) for a manager's own credentials."""


class _TimedCache:
    """Documents fetched by location, each trusted for `seconds`; `clock` is injectable for tests."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self._seconds = seconds
        self._clock = clock
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, location: str, fetch: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            entry = self._entries.get(location)
            if entry is not None and self._clock() < entry[0]:
                return entry[1]
            document = fetch()
            self._entries[location] = (self._clock() + self._seconds, document)
            return document


def _split(ref: str, scheme: str) -> tuple[str, str]:
    location, sep, key = ref.partition("#")
    if not sep or not location.strip("/") or not key:
        raise SecretError(f"a {scheme}: reference needs a path and a key: {scheme}:PATH#KEY")
    return location.strip("/"), key


def _pick(document: dict[str, Any], key: str, where: str) -> str:
    value = document.get(key)
    if value is None:
        raise SecretError(f"{where} has no key {key}; add it or change the reference")
    text = value if isinstance(value, str) else str(value)
    redactor.add(text)
    return text


class HashiCorpVault:
    """KV v2 reads with token or AppRole auth; a renewable token is renewed when half its lease has passed."""

    def __init__(
        self,
        settings: VaultSettings,
        resolve: Resolve,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._resolve = resolve
        self._clock = clock
        headers = {"X-Vault-Namespace": settings.namespace} if settings.namespace else {}
        self._http = httpx.Client(
            base_url=settings.address, headers=headers, timeout=settings.timeout_seconds, transport=transport
        )
        self._cache = _TimedCache(settings.cache_seconds, clock)
        self._token: str | None = None
        self._renew_at = float("inf")
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def read(self, ref: str) -> str:
        path, key = _split(ref, "vault")
        document = self._cache.get(path, lambda: self._fetch(path))
        return _pick(document, key, f"vault:{path}")

    def _fetch(self, path: str) -> dict[str, Any]:
        response = self._request(
            "GET", f"/v1/{self._settings.mount}/data/{path}", token=self._current_token()
        )
        if response.status_code == 403 and self._settings.role_id:
            with self._lock:
                self._token = None  # an expired AppRole token: log in once more
            response = self._request(
                "GET", f"/v1/{self._settings.mount}/data/{path}", token=self._current_token()
            )
        if response.status_code == 404:
            raise SecretError(f"vault:{path} does not exist in the {self._settings.mount} KV v2 mount")
        data = self._json(response, f"reading vault:{path}")
        inner = data.get("data", {}).get("data")
        if not isinstance(inner, dict):
            raise SecretError(f"vault:{path} is not a KV v2 secret (no data.data in the answer)")
        return inner

    def _current_token(self) -> str:
        with self._lock:
            if self._token is None:
                self._token, lease, renewable = self._log_in()
                self._schedule(lease, renewable)
            elif self._clock() >= self._renew_at:
                self._renew()
            return self._token

    def _log_in(self) -> tuple[str, float, bool]:
        settings = self._settings
        if settings.role_id and settings.secret_id:
            body = {
                "role_id": self._resolve(settings.role_id),
                "secret_id": self._resolve(settings.secret_id),
            }
            auth = self._json(self._request("POST", "/v1/auth/approle/login", json=body), "the AppRole login")
            return self._auth_token(auth)
        if settings.token:
            token = self._resolve(settings.token)
            lookup = self._request("GET", "/v1/auth/token/lookup-self", token=token)
            data = self._json(lookup, "looking up the Vault token").get("data", {})
            return token, float(data.get("ttl") or 0), bool(data.get("renewable"))
        raise SecretError("[secrets.vault] needs token, or role_id and secret_id, as secret references")

    def _renew(self) -> None:
        assert self._token is not None
        answer = self._request("POST", "/v1/auth/token/renew-self", token=self._token)
        if answer.status_code >= 400 and self._settings.role_id:
            self._token, lease, renewable = self._log_in()
        else:
            self._token, lease, renewable = self._auth_token(self._json(answer, "renewing the Vault token"))
        self._schedule(lease, renewable)

    def _schedule(self, lease: float, renewable: bool) -> None:
        self._renew_at = self._clock() + lease / 2 if lease > 0 and renewable else float("inf")

    @staticmethod
    def _auth_token(answer: dict[str, Any]) -> tuple[str, float, bool]:
        auth = answer.get("auth") or {}
        token = auth.get("client_token")
        if not isinstance(token, str):
            raise SecretError("Vault answered a login without auth.client_token")
        redactor.add(token)
        return token, float(auth.get("lease_duration") or 0), bool(auth.get("renewable"))

    def _request(self, method: str, url: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"X-Vault-Token": token} if token else {}
        try:
            return self._http.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise SecretError(
                f"Vault at {self._settings.address} is unreachable ({type(exc).__name__})"
            ) from None

    @staticmethod
    def _json(response: httpx.Response, doing: str) -> dict[str, Any]:
        if response.status_code >= 400:
            raise SecretError(f"Vault refused {doing} (HTTP {response.status_code})")
        try:
            body = response.json()
        except ValueError:
            raise SecretError(f"Vault answered {doing} with something that is not JSON") from None
        return body if isinstance(body, dict) else {}


class PulumiEsc:
    """Opens an ESC environment (`POST …/open`, then `GET …/open/{id}`) and reads one property's value."""

    def __init__(
        self,
        settings: EscSettings,
        resolve: Resolve,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._resolve = resolve
        self._http = httpx.Client(
            base_url=settings.api_url, timeout=settings.timeout_seconds, transport=transport
        )
        self._cache = _TimedCache(settings.cache_seconds, clock)

    def close(self) -> None:
        self._http.close()

    def read(self, ref: str) -> str:
        environment, key = _split(ref, "esc")
        if environment.count("/") != 1:
            raise SecretError("an esc: reference names PROJECT/ENVIRONMENT#KEY")
        document = self._cache.get(environment, lambda: self._open(environment))
        return _pick(document, key, f"esc:{environment}")

    def _open(self, environment: str) -> dict[str, Any]:
        base = f"/api/esc/environments/{self._settings.organization}/{environment}/open"
        headers = {"Authorization": f"token {self._resolve(self._settings.token)}"}
        opened = self._call("POST", base, headers, f"opening esc:{environment}")
        session = opened.get("id")
        if not isinstance(session, str):
            raise SecretError(f"Pulumi ESC answered the open of esc:{environment} without a session id")
        values = self._call("GET", f"{base}/{session}", headers, f"reading esc:{environment}")
        properties = values.get("properties") or {}
        return {name: _plain(value) for name, value in properties.items()}

    def _call(self, method: str, url: str, headers: dict[str, str], doing: str) -> dict[str, Any]:
        try:
            response = self._http.request(method, url, headers=headers)
        except httpx.HTTPError as exc:
            raise SecretError(f"Pulumi ESC is unreachable ({type(exc).__name__}) while {doing}") from None
        if response.status_code >= 400:
            raise SecretError(f"Pulumi ESC refused {doing} (HTTP {response.status_code})")
        body = response.json()
        return body if isinstance(body, dict) else {}


def _plain(value: Any) -> Any:
    """ESC values are `{"value": …, "secret": bool}` trees; keep the leaves' values."""
    if isinstance(value, dict) and "value" in value:
        inner = value["value"]
        if isinstance(inner, dict):
            return {k: _plain(v) for k, v in inner.items()}
        if isinstance(inner, list):
            return [_plain(v) for v in inner]
        return inner
    return value
