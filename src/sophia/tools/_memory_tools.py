"""`memory.remember` / `recall` / `graph` / `forget` / `stats`: thin wrappers over `MemoryService`, scoped by context.

Namespaces come from the call's context (the user, or the run's configured namespaces), never from the model.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from sophia.accounts import Role
from sophia.memory import MemoryKind, MemoryService
from sophia.tools._model import ToolContext, ToolResult

__all__ = ["MemoryTools"]


def _namespaces(context: ToolContext) -> tuple[str, ...]:
    if context.memory_namespaces:
        return context.memory_namespaces
    return (f"user:{context.user_id}", "global") if context.user_id is not None else ("global",)


class MemoryTools:
    def __init__(self, service: MemoryService) -> None:
        self.service = service

    async def remember(
        self,
        content: Annotated[str, "What to remember, as a self-contained statement."],
        context: ToolContext,
        kind: Annotated[MemoryKind, "What sort of memory this is."] = MemoryKind.FACT,
        importance: Annotated[float, Field(ge=0.0, le=1.0), "0 (trivia) to 1 (must not forget)."] = 0.5,
    ) -> ToolResult[dict[str, str]]:
        """Store a memory for later recall (in the caller's own namespace)."""
        namespace = _namespaces(context)[0]
        memory_id = await self.service.remember(
            content, namespace=namespace, kind=kind, importance=importance, source=context.agent
        )
        return ToolResult(
            {"id": memory_id, "namespace": namespace}, after={"id": memory_id, "content": content}
        )

    async def recall(
        self,
        query: Annotated[str, "What to look for, in plain words."],
        context: ToolContext,
        k: Annotated[int, Field(ge=1, le=50), "How many memories to return."] = 5,
        kinds: Annotated[list[MemoryKind] | None, "Only these kinds of memory."] = None,
        expand_graph: Annotated[
            bool, "Also return memories one relationship away from names in the query."
        ] = False,
    ) -> list[dict[str, Any]]:
        """Recall the memories most relevant to a query."""
        hits = await self.service.recall(
            query, _namespaces(context), kinds=kinds, k=k, expand_graph=expand_graph
        )
        return [
            {
                "id": hit.memory.id,
                "content": hit.memory.content,
                "kind": hit.memory.kind.value,
                "score": round(hit.score, 4),
                "created_at": hit.memory.created_at.isoformat(),
            }
            for hit in hits
        ]

    async def graph(
        self,
        entity: Annotated[str, "A person, company, account, email, date or amount."],
        context: ToolContext,
    ) -> list[dict[str, Any]]:
        """What Sophia knows relates to an entity: each relationship, since when, until when, from which memory."""
        views = await self.service.graph(entity, namespaces=_namespaces(context))
        return [
            {
                "entity": view.name,
                "type": view.type,
                "relationships": [
                    {
                        "subject": e.subject,
                        "relation": e.relation,
                        "object": e.object,
                        "valid_from": e.valid_from.isoformat(),
                        "valid_until": e.valid_until.isoformat() if e.valid_until else None,
                        "memory_id": e.source_memory_id,
                    }
                    for e in view.edges
                ],
            }
            for view in views
        ]

    async def forget(
        self, memory_id: Annotated[str, "The id of the memory to forget."], context: ToolContext
    ) -> ToolResult[dict[str, int]]:
        """Forget one memory (it stays in history but is no longer recalled)."""
        namespaces = _namespaces(context)
        before = await self.service.get(memory_id, namespaces=namespaces)
        count = await self.service.forget(memory_id, namespaces=namespaces)
        return ToolResult(
            {"forgotten": count}, before={"id": before.id, "content": before.content}, after=None
        )

    async def check_forgettable(self, arguments: BaseModel, context: ToolContext) -> None:
        """Not found unless the caller can read the memory, before anyone is asked to approve forgetting it."""
        await self.service.get(str(getattr(arguments, "memory_id", "")), namespaces=_namespaces(context))

    async def stats(self, context: ToolContext) -> dict[str, Any]:
        """Count the memories you may read, by kind (admins see every namespace and the index sizes)."""
        if context.role is Role.ADMIN and not context.memory_namespaces:
            stats = await self.service.stats()
            return {
                "memories": stats.memories,
                "current": stats.current,
                "by_kind": dict(stats.by_kind),
                "vectors": stats.vectors,
                "embedding_model": stats.embedding_model,
            }
        scoped = await self.service.stats(namespaces=_namespaces(context))
        return {"memories": scoped.memories, "current": scoped.current, "by_kind": dict(scoped.by_kind)}
