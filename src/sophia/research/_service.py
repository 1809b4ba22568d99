"""`ResearchService`: what every shell calls (CLI, HTTP, MCP, runs): build the asked-for sources for a caller,
run the pipeline, search or read one page, and say which sources are configured."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import httpx

from sophia.config import SOURCE_KINDS, Settings
from sophia.gateway import LOCAL_MODEL, Caller, Gateway
from sophia.memory import Embedder, MemoryService
from sophia.research._factory import build_sources, page_reader
from sophia.research._model import Document, ResearchReport, SearchResult, Source
from sophia.research._pages import PageReader
from sophia.research._pipeline import (
    DepthName,
    EventSink,
    ResearchPipeline,
    StepRunner,
    _no_events,
    direct_step,
)
from sophia.research._writer import ModelWriter

__all__ = ["ResearchService"]

Mode = Literal["auto", "extractive", "model"]


class ResearchService:
    def __init__(
        self,
        settings: Settings,
        *,
        gateway: Gateway | None = None,
        memory: MemoryService | None = None,
        embedder: Embedder | None = None,
        resolve: Callable[[str], str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        reader: PageReader | None = None,
    ) -> None:
        self.settings = settings
        self.gateway = gateway
        self.memory = memory
        self.embedder = (
            embedder if embedder is not None else (memory.embedder if memory is not None else None)
        )
        if resolve is None:
            from sophia.secrets import SecretResolver

            resolve = SecretResolver.for_settings(settings).resolve
        self.resolve = resolve
        self.transport = transport
        self.reader = reader or page_reader(settings)

    def sources(self, names: Sequence[str] | None, namespaces: Sequence[str]) -> dict[str, Source]:
        return build_sources(
            self.settings,
            names,
            reader=self.reader,
            resolve=self.resolve,
            memory=self.memory,
            namespaces=namespaces,
            transport=self.transport,
        )

    async def check_sources(self, names: Sequence[str] | None) -> None:
        """Raise what `research` would (an unknown source, a missing key) before a run is queued."""
        await _close(self.sources(names, ["global"]))

    def available(self) -> list[str]:
        return list(SOURCE_KINDS)

    def _writer(self, mode: Mode, caller: Caller) -> ModelWriter | None:
        if self.gateway is None or mode == "extractive" or self.settings.research.cost_budget_usd <= 0:
            return None
        if mode == "auto" and all(entry.name == LOCAL_MODEL for entry in self.gateway.catalog):
            return None  # the bundled 135M model cannot write trustworthy claims: extractive brief instead
        return ModelWriter(self.gateway, caller, budget_usd=self.settings.research.cost_budget_usd)

    async def research(
        self,
        question: str,
        *,
        user_id: int | None = None,
        depth: DepthName | None = None,
        sources: Sequence[str] | None = None,
        mode: Mode | None = None,
        plan: bool = True,
        remember: bool = True,
        step: StepRunner = direct_step,
        on_event: EventSink = _no_events,
    ) -> ResearchReport:
        namespaces = [f"user:{user_id}", "global"] if user_id is not None else ["global"]
        chosen: Mode = mode or self.settings.research.mode
        caller = Caller(user_id=str(user_id) if user_id is not None else None)
        built = self.sources(sources, namespaces)
        pipeline = ResearchPipeline(
            built,
            settings=self.settings.research,
            writer=self._writer(chosen, caller),
            embedder=self.embedder,
            memory=self.memory if remember else None,
            namespace=namespaces[0],
        )
        try:
            return await pipeline.run(
                question,
                depth=depth,
                sources=list(built),
                mode=chosen,
                plan=plan,
                step=step,
                on_event=on_event,
            )
        finally:
            await _close(built)

    async def search(
        self, query: str, *, sources: Sequence[str] | None = None, k: int = 10, user_id: int | None = None
    ) -> list[SearchResult]:
        namespaces = [f"user:{user_id}", "global"] if user_id is not None else ["global"]
        built = self.sources(sources, namespaces)
        try:
            found: list[SearchResult] = []
            for source in built.values():
                found += await source.search(query, k)
            return found
        finally:
            await _close(built)

    async def fetch(self, url: str) -> Document:
        return await self.reader.read(url, source="web")


async def _close(sources: dict[str, Any]) -> None:
    for source in sources.values():
        close = getattr(source, "aclose", None)
        if close is not None:
            await close()
