"""Learning across tasks: each attempt's outcome is an `outcome` memory in the repository's project namespace."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from sophia.memory import MemoryKind, MemoryService

__all__ = ["CodingLessons", "repository_namespace"]

_CONTENT_CHARS = 3000


def repository_namespace(source: str) -> str:
    """`project:<name>-<hash>`: one namespace per repository source, readable and collision-free."""
    cleaned = source.strip().removesuffix("/").removesuffix(".git")
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", cleaned.rsplit("/", 1)[-1]).strip("-.") or "repo"
    digest = hashlib.sha256(cleaned.encode()).hexdigest()[:10]
    return f"project:{name[:60]}-{digest}"


class CodingLessons:
    def __init__(self, memory: MemoryService) -> None:
        self.memory = memory

    async def remember(
        self,
        *,
        namespace: str,
        task: str,
        status: str,
        files: Sequence[str],
        failing_checks: Sequence[str],
        fix: str,
        cost_usd: float,
        models: Sequence[str],
        run_id: str | None,
    ) -> str:
        lines = [
            f"Coding task: {task}",
            f"Outcome: {status}",
            f"Files touched: {', '.join(files) if files else 'none'}",
            f"Checks that failed along the way: {', '.join(failing_checks) if failing_checks else 'none'}",
            f"Models: {', '.join(sorted(set(models))) or 'none'}; cost ${cost_usd:.4f}",
            f"The change that {'worked' if status == 'resolved' else 'was tried'}:\n{fix}",
        ]
        return await self.memory.remember(
            "\n".join(lines)[:_CONTENT_CHARS],
            namespace=namespace,
            kind=MemoryKind.OUTCOME,
            metadata={"area": "code", "status": status, "run_id": run_id, "files": list(files)[:50]},
            importance=0.7 if status == "resolved" else 0.8,
            source=f"code:{run_id}" if run_id else "code",
        )

    async def recall(self, task: str, *, namespace: str, k: int = 3) -> list[str]:
        hits = await self.memory.recall(task, [namespace], kinds=[MemoryKind.OUTCOME], k=k)
        return [hit.memory.content for hit in hits if hit.memory.metadata.get("area") == "code"]
