"""The research pipeline: plan → search every source at once → dedupe → read pages → passages → select →
claims → verify → report. Searches, page reads and model calls go through `step`, which a durable run makes
DBOS steps (a resumed run replays them instead of searching or fetching again).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from sophia.config import ResearchSettings
from sophia.errors import SophiaError
from sophia.memory import Embedder, MemoryKind, MemoryService, rank_texts
from sophia.research._errors import UnknownSource
from sophia.research._model import Claim, Document, Passage, ResearchReport, SearchResult, Source
from sophia.research._passages import split_passages, split_sentences
from sophia.research._planning import split_question
from sophia.research._report import build_report
from sophia.research._urls import canonical_url
from sophia.research._verify import WEAK, check_claim, coverage
from sophia.research._writer import ModelWriter

__all__ = ["DEPTHS", "Depth", "ResearchPipeline", "StepRunner", "direct_step"]

log = logging.getLogger("sophia.research")
StepRunner = Callable[[str, Callable[[], Awaitable[Any]]], Awaitable[Any]]
EventSink = Callable[[str, dict[str, Any]], Awaitable[None]]
DepthName = Literal["quick", "standard", "deep"]


@dataclass(frozen=True, slots=True)
class Depth:
    sub_questions: int
    results_per_source: int
    pages: int
    passages_per_question: int


DEPTHS: dict[str, Depth] = {
    "quick": Depth(1, 6, 6, 3),
    "standard": Depth(4, 8, 12, 5),
    "deep": Depth(6, 10, 24, 8),
}


async def direct_step(name: str, function: Callable[[], Awaitable[Any]]) -> Any:
    return await function()


async def _no_events(kind: str, data: dict[str, Any]) -> None:
    return None


@dataclass
class _Run:
    question: str
    depth: Depth
    deadline: float
    step: StepRunner
    emit: EventSink
    stats: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            (
                "sub_questions",
                "sources_queried",
                "source_errors",
                "results",
                "pages_read",
                "fetch_errors",
                "passages",
                "claims_kept",
                "claims_dropped",
            ),
            0,
        )
    )
    refused: list[str] = field(default_factory=list)
    cost_usd: float = 0.0

    def remaining(self) -> float:
        return max(0.05, self.deadline - time.monotonic())


class ResearchPipeline:
    def __init__(
        self,
        sources: Mapping[str, Source],
        *,
        settings: ResearchSettings | None = None,
        writer: ModelWriter | None = None,
        embedder: Embedder | None = None,
        memory: MemoryService | None = None,
        namespace: str | None = None,
        source_timeout: float = 30.0,
        fetch_timeout: float = 45.0,
    ) -> None:
        self.sources = dict(sources)
        self.settings = settings or ResearchSettings()
        self.writer = writer
        self.embedder = embedder
        self.memory = memory
        self.namespace = namespace
        self.source_timeout = source_timeout
        self.fetch_timeout = fetch_timeout

    async def run(
        self,
        question: str,
        *,
        depth: DepthName | None = None,
        sources: Sequence[str] | None = None,
        mode: Literal["auto", "extractive", "model"] | None = None,
        plan: bool = True,
        step: StepRunner = direct_step,
        on_event: EventSink = _no_events,
    ) -> ResearchReport:
        question = " ".join(question.split())
        if not question:
            raise SophiaError("a research question must not be empty")
        names = list(sources or [n for n in self.settings.sources if n in self.sources] or self.sources)
        unknown = [n for n in names if n not in self.sources]
        if unknown:
            raise UnknownSource(
                f"unknown or unconfigured research source(s) {', '.join(unknown)}; available: "
                f"{', '.join(sorted(self.sources)) or 'none'}"
            )
        chosen = mode or self.settings.mode
        use_model = self.writer is not None and chosen != "extractive"
        run = _Run(question, DEPTHS[depth or self.settings.depth], 0.0, step, on_event)
        run.deadline = time.monotonic() + self.settings.time_budget_seconds
        if use_model and plan and self.settings.clarify:
            await self._clarify(run)
        subs = await self._plan(run, use_model and plan, plan)
        await run.emit("plan", {"sub_questions": subs})
        results = await self._search(run, subs, names)
        documents = await self._read(run, self._pick(run, results))
        passages = {p.id: p for d in documents for p in split_passages(d)}
        run.stats["passages"] = len(passages)
        claims: list[Claim] = []
        for sub in subs:
            selected = self._select(sub, list(passages.values()), run.depth.passages_per_question)
            if use_model and self._within_budget():
                found = await self._model_claims(run, sub, selected, passages)
            else:
                found = self._extractive_claims(sub, selected)
            claims += [
                c for c in found if all(c.passage_id != k.passage_id or c.text != k.text for k in claims)
            ]
        run.stats["claims_kept"] = len(claims)
        report = build_report(
            question,
            "model" if use_model else "extractive",
            subs,
            claims,
            passages,
            stats=run.stats,
            refused=run.refused,
        )
        report.cost_usd = run.cost_usd
        await run.emit("report", {"confidence": report.confidence, "citations": len(report.citations)})
        await self._remember(run, report)
        return report

    # -- stages ---------------------------------------------------------------------------------------------------

    async def _clarify(self, run: _Run) -> None:
        """The model's restatement replaces the question for planning and search, unless it drifts off it
        (it must keep at least half of the question's content words)."""
        writer = self.writer
        assert writer is not None

        async def clarified() -> str:
            return await writer.clarify(run.question)

        try:
            restated: str = await self._model_step(run, "research:clarify", clarified)
        except SophiaError as error:
            log.warning("research clarify step failed, keeping the question: %s", error.message)
            return
        if restated and restated != run.question and coverage(run.question, restated) >= WEAK:
            run.question = restated
            await run.emit("clarify", {"question": restated})

    async def _plan(self, run: _Run, ask_model: bool, plan: bool) -> list[str]:
        limit = run.depth.sub_questions if plan else 1
        subs = split_question(run.question, limit)
        if ask_model and limit > 1 and self.writer is not None:
            writer = self.writer

            async def planned() -> list[str]:
                return await writer.plan(run.question, limit)

            try:
                extra: list[str] = await self._model_step(run, "research:plan", planned)
            except SophiaError as error:
                log.warning("research planning by the model failed, planning by rule: %s", error.message)
                extra = []
            subs = list(dict.fromkeys([run.question, *extra, *subs[1:]]))[:limit]
        run.stats["sub_questions"] = len(subs)
        return subs

    async def _search(self, run: _Run, subs: list[str], names: list[str]) -> list[list[SearchResult]]:
        """One list per (sub-question, source), best first; a failing or hanging source is left out."""
        gate = asyncio.Semaphore(self.settings.concurrency)
        k = run.depth.results_per_source

        async def one(sub: str, name: str) -> list[SearchResult]:
            source = self.sources[name]

            async def searched() -> list[dict[str, Any]]:
                try:
                    async with gate, asyncio.timeout(min(self.source_timeout, run.remaining())):
                        return [asdict(r) for r in await source.search(sub, k)]
                except TimeoutError:
                    return [{"error": f"{name} timed out"}]
                except SophiaError as error:
                    return [{"error": error.message}]

            # The gate is inside the step: steps start in a fixed order, which a durable replay relies on.
            raw: list[dict[str, Any]] = await run.step(f"search:{name}:{sub[:80]}", searched)
            run.stats["sources_queried"] += 1
            if raw and "error" in raw[0]:
                run.stats["source_errors"] += 1
                await run.emit("source_error", {"source": name, "error": raw[0]["error"]})
                return []
            await run.emit("searched", {"source": name, "sub_question": sub, "results": len(raw)})
            return [SearchResult(**r) for r in raw]

        found = await asyncio.gather(*(one(sub, name) for sub in subs for name in names))
        run.stats["results"] = sum(len(r) for r in found)
        return list(found)

    def _pick(self, run: _Run, lists: list[list[SearchResult]]) -> list[SearchResult]:
        """Round-robin over the result lists by rank, one per canonical URL, up to the depth's page count."""
        picked: dict[str, SearchResult] = {}
        for rank in range(max((len(x) for x in lists), default=0)):
            for results in lists:
                if rank < len(results):
                    picked.setdefault(canonical_url(results[rank].url), results[rank])
        return list(picked.values())[: run.depth.pages]

    async def _read(self, run: _Run, results: list[SearchResult]) -> list[Document]:
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def one(result: SearchResult) -> Document | None:
            source = self.sources[result.source]

            async def fetched() -> dict[str, Any]:
                try:
                    async with gate, asyncio.timeout(min(self.fetch_timeout, run.remaining())):
                        return asdict(await source.fetch(result.url))
                except TimeoutError:
                    return {"error": f"reading {result.url[:200]} timed out"}
                except SophiaError as error:
                    return {"error": error.message}

            raw: dict[str, Any] = await run.step(f"fetch:{canonical_url(result.url)[:200]}", fetched)
            if "error" in raw:
                run.stats["fetch_errors"] += 1
                await run.emit("fetch_error", {"url": result.url, "error": raw["error"]})
                return None
            run.stats["pages_read"] += 1
            await run.emit("read", {"url": result.url, "title": raw.get("title")})
            return Document(**raw)

        read = await asyncio.gather(*(one(r) for r in results))
        return [d for d in read if d is not None and d.text.strip()]

    def _select(self, sub: str, passages: list[Passage], limit: int) -> list[Passage]:
        ranked = rank_texts(sub, [f"{p.title}\n{p.text}" for p in passages], embedder=self.embedder)
        return [passages[i] for i, _ in ranked[:limit]]

    def _extractive_claims(self, sub: str, selected: list[Passage]) -> list[Claim]:
        """The passage's sentence that covers most of the sub-question, quoted as it stands (support 1 by
        construction); its confidence is how much of the sub-question the passage covers."""
        claims = []
        for passage in selected:
            relevance = coverage(sub, f"{passage.title}\n{passage.text}")
            if relevance < WEAK * 0.6:
                continue
            sentences = split_sentences(passage.text) or [passage.text]
            best = max(sentences, key=lambda s: (coverage(sub, s), -sentences.index(s)))
            verdict: Literal["supported", "weak"] = "supported" if relevance >= WEAK else "weak"
            claims.append(Claim(best, passage.id, best, sub, round(relevance, 3), verdict))
        return claims

    async def _model_claims(
        self, run: _Run, sub: str, selected: list[Passage], passages: Mapping[str, Passage]
    ) -> list[Claim]:
        writer = self.writer
        assert writer is not None

        async def written() -> dict[str, Any]:
            return {"claims": await writer.claims(sub, selected), "request_id": writer.last_request_id}

        try:
            answer: dict[str, Any] | list[dict[str, Any]] = await self._model_step(
                run, f"research:claims:{sub[:80]}", written
            )
        except SophiaError as error:
            log.warning("research claims by the model failed, extracting instead: %s", error.message)
            return self._extractive_claims(sub, selected)
        # A run checkpointed before outcomes were recorded holds the bare list of claims.
        proposed = answer if isinstance(answer, list) else list(answer["claims"])
        request_id = None if isinstance(answer, list) else answer.get("request_id")
        kept = []
        for raw in proposed:
            checked = check_claim(raw, passages, sub)
            if checked.claim is None:
                run.stats["claims_dropped"] += 1
                run.refused.append(checked.reason or "refused")
            else:
                kept.append(checked.claim)
        if self.settings.check_claims_with_model:
            kept = await self._model_checked(run, kept)
        if isinstance(request_id, str):
            await self._outcome(run, request_id, len(proposed), len(kept))
        await run.emit(
            "claims", {"sub_question": sub, "kept": len(kept), "dropped": len(proposed) - len(kept)}
        )
        return kept or self._extractive_claims(sub, selected)

    async def _outcome(self, run: _Run, request_id: str, proposed: int, kept: int) -> None:
        """The claims call's verified share, as a run outcome the gateway's routing learns from; a step, so a
        resumed run does not count it twice."""
        writer = self.writer
        assert writer is not None

        async def recorded() -> dict[str, Any]:
            return await writer.verified(request_id, proposed, kept)

        outcome: dict[str, Any] = await run.step(f"research:outcome:{request_id}", recorded)
        if outcome.get("status") == "error":
            log.warning(
                "research: the outcome of %s was not recorded: %s", request_id, outcome.get("message")
            )

    async def _model_checked(self, run: _Run, claims: list[Claim]) -> list[Claim]:
        """Each claim the lexical check kept, asked of the model too; one it rejects is dropped. Past the cost
        budget the rest stay as the lexical check left them (`checked_by_model` false)."""
        writer = self.writer
        assert writer is not None
        kept = []
        for claim in claims:

            async def verdict(claim: Claim = claim) -> bool:
                return await writer.check(claim.text, claim.quote)

            try:
                supported: bool = await self._model_step(
                    run, f"research:check:{claim.passage_id}:{claim.text[:60]}", verdict
                )
            except SophiaError as error:
                log.warning("research model check stopped: %s", error.message)
                kept.append(claim)
                continue
            if supported:
                kept.append(replace(claim, checked_by_model=True))
            else:
                run.stats["claims_dropped"] += 1
                run.refused.append(
                    f"the model check found passage {claim.passage_id} does not support the claim"
                )
        return kept

    async def _model_step(self, run: _Run, name: str, function: Callable[[], Awaitable[Any]]) -> Any:
        """A model call as a step whose output carries its cost, so a resumed run still counts (and budgets)
        what its replayed calls spent."""
        writer = self.writer
        assert writer is not None

        async def body() -> dict[str, Any]:
            before = writer.cost_usd
            value = await function()
            return {"value": value, "cost_usd": writer.cost_usd - before}

        out: dict[str, Any] = await run.step(name, body)
        run.cost_usd += float(out["cost_usd"])
        writer.cost_usd = max(writer.cost_usd, run.cost_usd)
        return out["value"]

    def _within_budget(self) -> bool:
        return self.writer is not None and self.writer.cost_usd < self.settings.cost_budget_usd

    async def _remember(self, run: _Run, report: ResearchReport) -> None:
        memory, namespace = self.memory, self.namespace
        if memory is None or namespace is None or not self.settings.remember_findings:
            return
        claims = {c.passage_id: c for c in report.claims}
        new = [p for p in report.citations if p.source != "memory"]

        async def remembered() -> int:
            for passage in new:
                claim = claims[passage.id]
                await memory.remember(
                    passage.text,
                    namespace=namespace,
                    kind=MemoryKind.RESEARCH,
                    source=passage.url,
                    metadata={
                        "title": passage.title[:300],
                        "question": run.question[:300],
                        "claim": claim.text[:500],
                        "passage_id": passage.id,
                    },
                    importance=min(1.0, 0.3 + 0.5 * claim.support),
                )
            return len(new)

        if new:
            await run.step("research:remember", remembered)
