"""The dashboard's handle on memory: the app's one `MemoryService`, and which namespaces a user may read.

The service lives where `/v1/memory` looks for it (`Services.memory`, else `app.state.memory`), so the API and
the dashboard share one vector index in a process; whoever needs it first opens it with `open_memory`.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from sophia.accounts import Role
from sophia.errors import PermissionDenied
from sophia.memory import MemoryService, RecallReasons, check_namespace, open_memory
from sophia.server.web._sessions import WebSession
from sophia.server.web._state import web_state

__all__ = ["ReasonPart", "memory_of", "namespace_for", "reason_parts"]


def _shared(connection: HTTPConnection) -> MemoryService | None:
    services = web_state(connection).services
    found: MemoryService | None = getattr(services, "memory", None) or getattr(
        connection.app.state, "memory", None
    )
    return found


async def memory_of(connection: HTTPConnection) -> MemoryService:
    """The app's memory service, opened on first use; one this dashboard opened is closed at shutdown."""
    found = _shared(connection)
    if found is not None:
        return found
    web = web_state(connection)
    async with web.memory_lock:
        found = _shared(connection)
        if found is None:
            found = await open_memory(
                web.services.settings, web.services.database, gateway=web.services.gateway
            )
            connection.app.state.memory = found
            web.owned.append(found)
    return found


def namespace_for(me: WebSession, requested: str | None) -> str:
    """A user's own namespace is `user:<id>`; only admins may read another one."""
    own = f"user:{me.user_id}"
    wanted = (requested or "").strip()
    if not wanted or wanted == own:
        return own
    if me.role is not Role.ADMIN:
        raise PermissionDenied(f"you can search only your own memories ({own}); ask an admin for others")
    return check_namespace(wanted)


@dataclass(frozen=True, slots=True)
class ReasonPart:
    """One line of 'why was this recalled', with a 0..1 share for the bar beside it."""

    label: str
    value: str
    share: float
    hint: str


def _score(value: float | None, rank: int | None) -> str:
    if value is None:
        return "no match"
    return f"{value:.3f}" + (f" (#{rank})" if rank is not None else "")


def reason_parts(reasons: RecallReasons) -> list[ReasonPart]:
    top = max(reasons.final_score, reasons.fused_score, 1e-9)

    def share(value: float | None) -> float:
        return max(0.0, min(1.0, (value or 0.0) / top))

    return [
        ReasonPart(
            "Keyword",
            _score(reasons.keyword_score, reasons.keyword_rank),
            1.0 if reasons.keyword_rank == 1 else (0.5 if reasons.keyword_score is not None else 0.0),
            "BM25 over the words of your query",
        ),
        ReasonPart(
            "Meaning",
            _score(reasons.vector_score, reasons.vector_rank),
            max(0.0, min(1.0, reasons.vector_score or 0.0)),
            "cosine similarity of embeddings",
        ),
        ReasonPart(
            "Fused",
            f"{reasons.fused_score:.4f}",
            share(reasons.fused_score),
            "keyword and meaning ranks combined (weighted RRF)",
        ),
        ReasonPart(
            "Neighbours",
            f"{reasons.neighbour_score:.4f}",
            share(reasons.neighbour_score),
            "lifted by turns next to a strong match",
        ),
        ReasonPart(
            "Recency",
            f"{reasons.recency:.2f}",
            max(0.0, min(1.0, reasons.recency)),
            "1 for now, halving every 30 days",
        ),
        ReasonPart(
            "Importance",
            f"{reasons.importance:.2f}",
            max(0.0, min(1.0, reasons.importance)),
            "how much the memory was marked to matter",
        ),
        ReasonPart(
            "Use",
            f"{reasons.access:.2f}",
            max(0.0, min(1.0, reasons.access)),
            "how often it was recalled before",
        ),
        ReasonPart(
            "Final", f"{reasons.final_score:.4f}", share(reasons.final_score), "what the ranking used"
        ),
    ]
