"""`research.search`, `research.fetch`, `research.report`: the research MCP server's tools (group `research`).

All three only read (pages through the SSRF guard, sources through their APIs); `research.report` from a tool
call does not store findings as memories, so it needs no approval.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from pydantic import Field

from sophia.research._passages import split_passages
from sophia.research._service import ResearchService
from sophia.tools import SideEffect, ToolContext, ToolRegistry

__all__ = ["ResearchTools", "register_research_tools"]


class ResearchTools:
    def __init__(self, service: ResearchService) -> None:
        self.service = service

    async def search(
        self,
        query: Annotated[str, Field(min_length=1, max_length=500), "What to look for."],
        context: ToolContext,
        sources: Annotated[list[str] | None, "Source names (searxng, arxiv, local, memory, …)."] = None,
        k: Annotated[int, Field(ge=1, le=30), "Results per source."] = 8,
    ) -> list[dict[str, Any]]:
        """Search the research sources and return their hits (URL, title, snippet, source)."""
        found = await self.service.search(query, sources=sources, k=k, user_id=context.user_id)
        return [asdict(r) for r in found]

    async def fetch(
        self, url: Annotated[str, Field(min_length=1, max_length=2000), "An http(s) address."]
    ) -> dict[str, Any]:
        """Read one page as research does: its main text cut into passages with stable ids."""
        document = await self.service.fetch(url)
        return {
            "url": document.url,
            "title": document.title,
            "passages": [p.json() for p in split_passages(document)],
        }

    async def report(
        self,
        question: Annotated[str, Field(min_length=3, max_length=2000), "The question to research."],
        context: ToolContext,
        depth: Annotated[Literal["quick", "standard", "deep"], "How far to search."] = "standard",
        sources: Annotated[list[str] | None, "Source names; default: [research] sources."] = None,
    ) -> dict[str, Any]:
        """Research a question and return a cited report: every claim verified against the passage it cites."""
        report = await self.service.research(
            question, user_id=context.user_id, depth=depth, sources=sources, remember=False
        )
        return report.json()


def register_research_tools(registry: ToolRegistry, service: ResearchService) -> None:
    tools = ResearchTools(service)
    registry.add(tools.search, name="research.search", group="research", effect=SideEffect.READ)
    registry.add(tools.fetch, name="research.fetch", group="research", effect=SideEffect.READ)
    registry.add(
        tools.report,
        name="research.report",
        group="research",
        effect=SideEffect.READ,
        timeout=service.settings.research.time_budget_seconds + 60,
    )
