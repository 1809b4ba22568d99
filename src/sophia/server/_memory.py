"""`/v1/memory`: remember, recall (with reasons, graph-expanded on request), get, forget, stats, graph.

Everything is confined to the caller's namespaces.

Members read `user:<their id>` and `global` and write only their own namespace; admins reach every namespace;
viewers read only. Every check runs before the service writes, so a refused request leaves nothing behind.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from sophia.accounts import Principal, Role
from sophia.errors import PermissionDenied
from sophia.memory import EntityView, Memory, MemoryService, RecallHit, check_namespace, open_memory
from sophia.server._auth import CurrentPrincipal, services
from sophia.server._schemas import MAX_TTL_SECONDS, Number, UtcDatetime

__all__ = ["memory_service", "router"]

router = APIRouter(prefix="/v1/memory", tags=["memory"])


class RememberBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1)
    namespace: str | None = Field(default=None, description="defaults to user:<your id>")
    kind: str = "fact"
    metadata: dict[str, Any] | None = None
    importance: Annotated[float, Field(ge=0, le=1), Number] = 0.5
    source: str | None = None
    ttl_seconds: Annotated[float, Field(ge=1, le=MAX_TTL_SECONDS), Number] | None = None


class RecallBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1)
    namespaces: list[str] | None = Field(default=None, description="defaults to every namespace you may read")
    kinds: list[str] | None = None
    k: Annotated[int, Field(ge=1, le=100), Number] = 10
    filters: dict[str, Any] | None = None
    as_of: UtcDatetime | None = None
    expand_graph: bool = Field(
        default=False, description="add up to k hits one graph hop from named entities"
    )


async def memory_service(request: Request) -> MemoryService:
    """The app's service: `Services.memory` when the lead wires it, else opened once on first use."""
    base = services(request)
    found: MemoryService | None = getattr(base, "memory", None) or getattr(request.app.state, "memory", None)
    if found is None:
        lock: asyncio.Lock | None = getattr(request.app.state, "memory_lock", None)
        if lock is None:  # no await since the check, so one lock per app
            lock = request.app.state.memory_lock = asyncio.Lock()
        async with lock:
            found = getattr(request.app.state, "memory", None)
            if found is None:
                found = await open_memory(base.settings, base.database, gateway=base.gateway)
                request.app.state.memory = found
    return found


def own_namespace(principal: Principal) -> str:
    return f"user:{principal.user_id}"


def readable(principal: Principal, asked: list[str] | None = None) -> list[str]:
    """The namespaces this caller may read: all asked for (each checked), or their defaults."""
    defaults = [own_namespace(principal), "global"]
    if principal.role is Role.PENDING:
        raise PermissionDenied("your account is pending approval; ask an admin to activate it")
    if asked is None:
        return defaults
    for namespace in asked:
        check_namespace(namespace)
        if principal.role is not Role.ADMIN and namespace not in defaults:
            raise PermissionDenied(
                f"you may not read memory namespace {namespace!r}; use user:<your id> or global"
            )
    return asked


def writable(principal: Principal, namespace: str) -> str:
    check_namespace(namespace)
    if principal.role is Role.ADMIN or (
        principal.role is Role.MEMBER and namespace == own_namespace(principal)
    ):
        return namespace
    raise PermissionDenied(f"you may not write memory namespace {namespace!r}; members write only their own")


def memory_json(memory: Memory) -> dict[str, Any]:
    data = asdict(memory)
    data["kind"] = memory.kind.value
    data["metadata"] = dict(memory.metadata)
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = value.isoformat()
    return {"object": "memory", **data}


def hit_json(hit: RecallHit) -> dict[str, Any]:
    return {"memory": memory_json(hit.memory), "score": hit.score, "reasons": asdict(hit.reasons)}


@router.post("", status_code=201)
async def remember(body: RememberBody, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    namespace = writable(principal, body.namespace or own_namespace(principal))
    service = await memory_service(request)
    memory_id = await service.remember(
        body.content,
        namespace=namespace,
        kind=body.kind,
        metadata=body.metadata,
        importance=body.importance,
        source=body.source,
        ttl=timedelta(seconds=body.ttl_seconds) if body.ttl_seconds else None,
    )
    return {"object": "memory.created", "id": memory_id, "namespace": namespace}


@router.post("/recall")
async def recall(body: RecallBody, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    namespaces = readable(principal, body.namespaces)
    service = await memory_service(request)
    hits = await service.recall(
        body.query, namespaces, body.kinds, body.k, body.filters, body.as_of, expand_graph=body.expand_graph
    )
    return {"object": "list", "data": [hit_json(hit) for hit in hits]}


@router.get("/stats")
async def stats(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    service = await memory_service(request)
    if principal.role is Role.ADMIN:
        return {"object": "memory.stats", **asdict(await service.stats())}
    found = await service.stats(namespaces=readable(principal))
    return {"object": "memory.stats", **{k: getattr(found, k) for k in ("memories", "current", "by_kind")}}


@router.get("/graph/{entity}")
async def graph(
    entity: str,
    request: Request,
    principal: CurrentPrincipal,
    namespace: Annotated[list[str] | None, Query(description="repeat; default your readable ones")] = None,
) -> dict[str, Any]:
    """The entity in each namespace the caller may read: its edges (closed ones too) and the memories behind them."""
    namespaces = readable(principal, namespace)
    views = await (await memory_service(request)).graph(entity, namespaces=namespaces)
    return {"object": "list", "data": [entity_json(view) for view in views]}


def entity_json(view: EntityView) -> dict[str, Any]:
    edges = [
        {
            **asdict(e),
            "valid_from": e.valid_from.isoformat(),
            "valid_until": e.valid_until and e.valid_until.isoformat(),
        }
        for e in view.edges
    ]
    return {
        "object": "memory.entity",
        **asdict(view),
        "edges": edges,
        "mentioned_in": list(view.mentioned_in),
    }


@router.get("/{memory_id}")
async def get_memory(memory_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    service = await memory_service(request)
    return memory_json(await service.get(memory_id, namespaces=await _reach(service, principal, memory_id)))


@router.delete("/{memory_id}")
async def forget(
    memory_id: str, request: Request, principal: CurrentPrincipal, hard: bool = False
) -> dict[str, Any]:
    service = await memory_service(request)
    memory = await service.get(memory_id, namespaces=await _reach(service, principal, memory_id))
    namespace = writable(principal, memory.namespace)
    count = await service.forget(memory_id, namespaces=namespace, hard=hard)
    return {"object": "memory.forgotten", "id": memory_id, "forgotten": count, "hard": hard}


async def _reach(service: MemoryService, principal: CurrentPrincipal, memory_id: str) -> list[str]:
    """Admins reach the memory wherever it lives; everyone else only through their readable namespaces."""
    if principal.role is Role.ADMIN:
        namespace = await service.namespace_of(memory_id)
        return [namespace] if namespace else readable(principal)
    return readable(principal)
