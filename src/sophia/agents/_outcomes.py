"""Learning from outcomes: each finished run leaves an `outcome` memory that planners recall next time.

It is also the performance memory: which models and tool sequence a task took, at what cost and latency.
"""

from __future__ import annotations

from collections.abc import Sequence

from sophia.memory import MemoryKind, MemoryService

__all__ = ["OutcomeMemory", "outcome_namespace"]

_CONTENT_CHARS = 2000


def outcome_namespace(user_id: int | None) -> str:
    """Outcomes live with the user who ran the task, so one user's runs never leak into another's plans."""
    return f"user:{user_id}" if user_id is not None else "agent:sophia"


class OutcomeMemory:
    """Writes and recalls run outcomes (task, what was tried, result, cost, errors)."""

    def __init__(self, memory: MemoryService) -> None:
        self.memory = memory

    async def record(
        self,
        *,
        namespace: str,
        task: str,
        status: str,
        tried: Sequence[str],
        result: str,
        cost_usd: float,
        errors: Sequence[str],
        run_id: str | None = None,
        models: Sequence[str] = (),
        latency_seconds: float | None = None,
    ) -> str:
        lines = [
            f"Task: {task}",
            f"Outcome: {status}",
            f"Tried: {', '.join(tried) if tried else 'nothing'}",
            f"Result: {result}",
            f"Cost: ${cost_usd:.4f}",
        ]
        if models:
            lines.append(f"Models: {', '.join(dict.fromkeys(models))}")
        if latency_seconds is not None:
            lines.append(f"Latency: {latency_seconds:.1f} s")
        if errors:
            lines.append("Errors: " + "; ".join(errors))
        content = "\n".join(lines)[:_CONTENT_CHARS]
        importance = 0.8 if status != "succeeded" or errors else 0.5
        return await self.memory.remember(
            content,
            namespace=namespace,
            kind=MemoryKind.OUTCOME,
            metadata={
                "run_id": run_id,
                "status": status,
                "cost_usd": round(cost_usd, 6),
                "models": list(dict.fromkeys(models)),
                "tools": list(tried),
                "latency_seconds": None if latency_seconds is None else round(latency_seconds, 3),
            },
            importance=importance,
            source=f"run:{run_id}" if run_id else "run",
        )

    async def recall(self, task: str, *, namespace: str, k: int = 3) -> list[str]:
        """The most relevant earlier outcomes, as text a planner can read."""
        hits = await self.memory.recall(task, [namespace], kinds=[MemoryKind.OUTCOME], k=k)
        return [hit.memory.content for hit in hits]
