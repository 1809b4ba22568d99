"""`bi.recruit_match` and `bi.strategy` on the `data` tool group (and so the `data` MCP server): read-only, scoped by
the call's context. Recruiting is for admins only, like `/v1/bi/recruit/*`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from sophia.accounts import Role
from sophia.bi._recruit import RecruitDesk
from sophia.bi._strategy_load import load_strategy
from sophia.business import BusinessStore
from sophia.errors import PermissionDenied
from sophia.memory import MemoryService
from sophia.store import Database
from sophia.tools import SideEffect, ToolContext, ToolRegistry

__all__ = ["HR_TOOL_ROLES", "register_bi_agent_tools"]

HR_TOOL_ROLES = (Role.ADMIN,)


class BiAgentTools:
    def __init__(self, memory: MemoryService, database: Database) -> None:
        self.memory = memory
        self.database = database

    async def recruit_match(
        self,
        role_id: Annotated[str, "The role's id (its title in lower case, words joined by dashes)."],
        context: ToolContext,
        k: Annotated[int, Field(ge=1, le=50), "How many candidates."] = 5,
    ) -> list[dict[str, Any]]:
        """Candidates for a role, best first, with the resume line meeting each requirement and what is missing."""
        if context.role not in HR_TOOL_ROLES:
            raise PermissionDenied("recruiting data is personal: only admins may match candidates")
        return [m.json() for m in await RecruitDesk(self.memory).match(role_id, k=k)]

    async def strategy(
        self,
        context: ToolContext,
        question: Annotated[str | None, "Focus the research findings on this question."] = None,
        competitors: Annotated[list[str] | None, "Competitor names to find in call transcripts."] = None,
    ) -> dict[str, Any]:
        """Growth opportunities and risks ranked by evidence weight, each with its records and citations."""
        namespaces = context.memory_namespaces or (
            (f"user:{context.user_id}", "global") if context.user_id is not None else ("global",)
        )
        found = await load_strategy(
            BusinessStore(self.database),
            self.memory,
            namespaces,
            question=question,
            competitors=competitors or (),
        )
        return found.json()


def register_bi_agent_tools(registry: ToolRegistry, memory: MemoryService, database: Database) -> None:
    tools = BiAgentTools(memory, database)
    registry.add(tools.recruit_match, name="bi.recruit_match", group="data", effect=SideEffect.READ)
    registry.add(tools.strategy, name="bi.strategy", group="data", effect=SideEffect.READ)
