"""The response cache: a repeated request (same tenant, same normalised body) is answered from a store.

The key hashes the tenant (user and key) with the request, so one user's answer can never be found by another; the
store checks the tenant again on every read. Streams are kept as their chunks and replayed as chunks, so the
server's encoding gives back the same bytes.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import orjson

from sophia.gateway._budgets import Caller
from sophia.gateway._cache_stores import CacheStore
from sophia.gateway._semantic_cache import SemanticIndex, last_text, without_last_text

log = logging.getLogger("sophia.gateway.cache")
NEAR_SECONDS = 5.0
NEAR_ENTRIES = 2048

JSONDict = dict[str, Any]

# Fields that change nothing in the answer: who asked (the tenant is in the key already), tracing and delivery.
_IGNORED = frozenset({"user", "metadata", "stream_options", "store", "service_tier", "prompt_cache_key"})


class CacheMode(Enum):
    """What one request lets the cache do: `cache-control: no-cache` refreshes, `no-store` bypasses."""

    USE = "use"
    REFRESH = "refresh"
    BYPASS = "bypass"

    @classmethod
    def from_header(cls, value: str | None) -> CacheMode:
        if not value:
            return cls.USE
        directives = {part.strip().lower().split("=", 1)[0] for part in value.split(",")}
        if "no-store" in directives:
            return cls.BYPASS
        if "no-cache" in directives:
            return cls.REFRESH
        return cls.USE


@dataclass(frozen=True, slots=True)
class CacheKey:
    key: str
    tenant: str
    stream: bool
    normalised: bytes
    namespace: str | None = None  # for the semantic cache: the tenant and the request but its last text
    text: str = ""


def tenant_of(caller: Caller) -> str:
    return f"u:{caller.user_id or ''}|k:{caller.api_key_id or ''}"


def normalise(body: Mapping[str, Any], *, stream: bool) -> bytes:
    """The request as canonical JSON: sorted keys, no `null` fields, no fields that cannot change the answer."""
    kept = {k: v for k, v in body.items() if k not in _IGNORED and v is not None}
    kept["stream"] = stream
    return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def cache_key(body: Mapping[str, Any], caller: Caller, *, stream: bool) -> CacheKey:
    tenant = tenant_of(caller)
    normalised = normalise(body, stream=stream)
    digest = hashlib.sha256(tenant.encode() + b"\n" + normalised).hexdigest()
    return CacheKey(digest, tenant, stream, normalised)


@dataclass(slots=True)
class CachedAnswer:
    """What a hit gives back: the body (or the stream's chunks) and what the first answer cost."""

    model: str
    task: str | None
    cost_usd: float
    input_tokens: int
    output_tokens: int
    response: JSONDict | None = None
    chunks: list[JSONDict] = field(default_factory=list)

    def to_bytes(self, tenant: str) -> bytes:
        return orjson.dumps(
            {
                "tenant": tenant,
                "model": self.model,
                "task": self.task,
                "cost_usd": self.cost_usd,
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
                "response": self.response,
                "chunks": self.chunks,
            },
            option=orjson.OPT_NON_STR_KEYS,
        )

    @classmethod
    def from_bytes(cls, raw: bytes, tenant: str) -> CachedAnswer | None:
        """None when the bytes are not an answer for this tenant (a damaged or foreign entry is a miss)."""
        try:
            data = orjson.loads(raw)
            if not isinstance(data, dict) or data.get("tenant") != tenant:
                return None
            return cls(
                model=str(data["model"]),
                task=data.get("task"),
                cost_usd=float(data["cost_usd"]),
                input_tokens=int(data["input_tokens"]),
                output_tokens=int(data["output_tokens"]),
                response=data.get("response"),
                chunks=list(data.get("chunks") or []),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None


class ResponseCache:
    """Exact cache over a `CacheStore` (plus the semantic index when on); a failing store or embedder is logged and
    treated as a miss, never as an error."""

    def __init__(
        self,
        store: CacheStore,
        *,
        ttl: float,
        max_entry_bytes: int = 1_000_000,
        semantic: SemanticIndex | None = None,
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.max_entry_bytes = max_entry_bytes
        self.semantic = semantic
        # A small in-process layer over the store: a hit from it costs no round trip. Entries live at most
        # NEAR_SECONDS, which bounds how stale a replica can be after another one refreshed an entry.
        self._near: OrderedDict[str, tuple[float, str, bytes]] = OrderedDict()
        self.hits = 0
        self.semantic_hits = 0
        self.misses = 0

    def key(self, body: Mapping[str, Any], caller: Caller, *, stream: bool) -> CacheKey:
        exact = cache_key(body, caller, stream=stream)
        if self.semantic is None:
            return exact
        rest = normalise(without_last_text(body), stream=stream)
        namespace = hashlib.sha256(exact.tenant.encode() + b"\n" + rest).hexdigest()
        return CacheKey(exact.key, exact.tenant, stream, exact.normalised, namespace, last_text(body))

    async def lookup(self, key: CacheKey) -> CachedAnswer | None:
        answer = await self._read(key.key, key)
        if answer is None and self.semantic is not None and key.namespace is not None:
            near = await self._nearest(key)
            answer = await self._read(near, key) if near is not None else None
            self.semantic_hits += answer is not None
        if answer is None:
            self.misses += 1
            return None
        self.hits += 1
        return answer

    async def _nearest(self, key: CacheKey) -> str | None:
        assert self.semantic is not None and key.namespace is not None
        try:
            found = await self.semantic.nearest(key.namespace, key.text)
        except Exception:
            log.warning("semantic cache: the embedder failed; exact matches only", exc_info=True)
            return None
        return found[0] if found is not None else None

    async def _read(self, stored_under: str, key: CacheKey) -> CachedAnswer | None:
        near = self._near.get(stored_under)
        if near is not None and near[0] > time.monotonic() and near[1] == key.tenant:
            raw: bytes | None = near[2]
        else:
            try:
                raw = await self.store.get(stored_under, key.tenant)
            except Exception:
                log.warning(
                    "response cache: the store could not be read; answering without it", exc_info=True
                )
                raw = None
            if raw is not None:
                self._keep(stored_under, key.tenant, raw)
        answer = CachedAnswer.from_bytes(raw, key.tenant) if raw is not None else None
        if (
            answer is None
            or (key.stream and not answer.chunks)
            or (not key.stream and answer.response is None)
        ):
            return None
        return answer

    async def remember(self, key: CacheKey, answer: CachedAnswer) -> bool:
        raw = answer.to_bytes(key.tenant)
        if len(raw) > self.max_entry_bytes:
            return False
        try:
            await self.store.put(key.key, key.tenant, key.stream, raw, self.ttl)
        except Exception:
            log.warning("response cache: the store refused a write; the answer is not cached", exc_info=True)
            return False
        self._keep(key.key, key.tenant, raw)
        if self.semantic is not None and key.namespace is not None:
            try:
                await self.semantic.add(key.namespace, key.text, key.key)
            except Exception:
                log.warning(
                    "semantic cache: the embedder failed; this answer matches exactly only", exc_info=True
                )
        return True

    def _keep(self, stored_under: str, tenant: str, raw: bytes) -> None:
        near = self._near
        near[stored_under] = (time.monotonic() + min(self.ttl, NEAR_SECONDS), tenant, raw)
        near.move_to_end(stored_under)
        if len(near) > NEAR_ENTRIES:
            near.popitem(last=False)

    async def clear(self) -> int:
        self._near.clear()
        return await self.store.clear()

    async def aclose(self) -> None:
        await self.store.aclose()


__all__ = ["CacheKey", "CacheMode", "CachedAnswer", "ResponseCache", "cache_key", "normalise", "tenant_of"]
