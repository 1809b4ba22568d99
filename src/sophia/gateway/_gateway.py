"""The one path to a model: budget check, routing, attempts with retries, breakers, fallbacks, ledger."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from sophia.errors import InvalidInput, NotFound, SophiaError
from sophia.gateway._accounting import Accounts, Outcome, falls_back
from sophia.gateway._breaker import BreakerBoard
from sophia.gateway._budgets import BudgetGuard, Caller
from sophia.gateway._cache import CachedAnswer, CacheKey, CacheMode, ResponseCache
from sophia.gateway._catalog import Catalog, ModelEntry
from sophia.gateway._errors import ProviderError, StreamInterrupted
from sophia.gateway._experiments import ExperimentBook
from sophia.gateway._health import HealthBoard
from sophia.gateway._judge import Judge, answer_text
from sophia.gateway._ledger import RequestRecord, UsageLedger
from sophia.gateway._quality import GENERAL_TASK, OUTCOME_SOURCES
from sophia.gateway._replicas import BreakerSync
from sophia.gateway._retry import RetryPolicy
from sophia.gateway._router import RequestTraits, RoutePlan, Router
from sophia.gateway._streams import chars, close, read_until_content, replay, streamed_text
from sophia.gateway._variants import Variant
from sophia.gateway.providers import ChatProvider

JSONDict = dict[str, Any]
T = TypeVar("T")


class NoModelAvailable(SophiaError):
    """Every candidate failed or was skipped; the message lists what happened to each."""

    code = "no_model_available"
    http_status = 503

    def __init__(self, message: str, retry_after: float | None = None, status: int = 503) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.http_status = status


class Gateway:
    def __init__(
        self,
        *,
        catalog: Catalog,
        router: Router,
        providers: dict[str, ChatProvider],
        ledger: UsageLedger,
        budgets: BudgetGuard,
        health: HealthBoard,
        breakers: BreakerBoard,
        retry: RetryPolicy | None = None,
        sleep: Any = asyncio.sleep,
        cache: ResponseCache | None = None,
        experiments: ExperimentBook | None = None,
        breaker_sync: BreakerSync | None = None,
        judge: Judge | None = None,
    ) -> None:
        self.catalog = catalog
        self.router = router
        self.providers = providers
        self.ledger = ledger
        self.budgets = budgets
        self.health = health
        self.breakers = breakers
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self.cache = cache
        self.experiments = experiments
        self.breaker_sync = breaker_sync
        reporters = [n for n, p in providers.items() if getattr(p, "reports_cost", False)]
        self._accounts = Accounts(ledger, budgets, health, breakers, reporters)
        self.judge = judge
        if judge is not None:
            judge.start(self._judged_call, self._judged)

    async def aclose(self) -> None:
        """Drain the ledger (nothing acknowledged is lost on a clean shutdown), then close provider clients."""
        if self.judge is not None:
            await self.judge.aclose()
        await self.ledger.aclose()
        if self.cache is not None:
            await self.cache.aclose()
        await self.budgets.aclose()
        if self.breaker_sync is not None:
            await self.breaker_sync.aclose()
        for provider in self.providers.values():
            await provider.aclose()

    # -- plain completions -------------------------------------------------------------------------------------

    async def complete(
        self, body: JSONDict, caller: Caller, request_id: str, *, cache: CacheMode = CacheMode.USE
    ) -> tuple[JSONDict, Outcome]:
        key = self._cache_key(body, caller, cache, stream=False)
        if key is not None and cache is CacheMode.USE:
            served = await self._from_cache(key, body, caller, request_id)
            if served is not None and served[0].response is not None:
                return served[0].response, served[1]
        plan, record, sent = await self._begin(body, caller, request_id, stream=False)
        started = time.perf_counter()

        async def attempt(entry: ModelEntry) -> JSONDict:
            return await self.providers[entry.provider].complete(sent, upstream_model=entry.upstream)

        try:
            entry, response, t0 = await self._with_fallbacks(plan, record, attempt)
        except SophiaError as error:
            self._accounts.failed(record, error, started)
            raise
        outcome = self._accounts.succeeded(record, entry, plan.task, response, t0, started, None)
        if key is not None:
            await self._remember(key, outcome, response=response)
        if self.judge is not None and self.judge.wants(caller, plan.task):
            self.judge.offer(request_id, body, answer_text(response))
        return response, outcome

    # -- streams ------------------------------------------------------------------------------------------------

    async def open_stream(
        self, body: JSONDict, caller: Caller, request_id: str, *, cache: CacheMode = CacheMode.USE
    ) -> tuple[ModelEntry, AsyncIterator[JSONDict]]:
        """Fall back freely until a first content chunk arrives; then commit to that model.

        Returns the model and an iterator that yields the buffered first chunks, then the rest. A failure after that
        raises `StreamInterrupted` from the iterator, and the ledger records the partial usage. A cached stream is
        replayed chunk for chunk.
        """
        key = self._cache_key(body, caller, cache, stream=True)
        if key is not None and cache is CacheMode.USE:
            served = await self._from_cache(key, body, caller, request_id)
            if served is not None and served[0].chunks:
                return served[1].model, replay(served[0].chunks)
        plan, record, sent = await self._begin(body, caller, request_id, stream=True)
        started = time.perf_counter()

        async def attempt(entry: ModelEntry) -> tuple[list[JSONDict], AsyncIterator[JSONDict]]:
            chunks = self.providers[entry.provider].stream(sent, upstream_model=entry.upstream)
            try:
                return await read_until_content(chunks), chunks
            except ProviderError:
                await close(chunks)
                raise

        try:
            entry, (head, chunks), t0 = await self._with_fallbacks(plan, record, attempt)
        except SophiaError as error:
            self._accounts.failed(record, error, started)
            raise
        ttft = (time.perf_counter() - t0) * 1000
        judged = self.judge is not None and self.judge.wants(caller, plan.task)
        relay = self._relay(
            record, plan, entry, head, chunks, t0, started, ttft, key, body if judged else None
        )
        return entry, relay

    async def _with_fallbacks(
        self, plan: RoutePlan, record: RequestRecord, attempt: Callable[[ModelEntry], Awaitable[T]]
    ) -> tuple[ModelEntry, T, float]:
        """Try each candidate in order, retrying retryable failures, skipping open breakers; the first success wins."""
        errors: list[str] = []
        last: ProviderError | None = None
        for entry in plan.candidates:
            for number in range(self.retry.max_retries + 1):
                if not self.breakers.get(entry.name).allow():
                    errors.append(f"{entry.name}: skipped, circuit open")
                    break
                t0 = time.perf_counter()
                try:
                    return entry, await attempt(entry), t0
                except ProviderError as error:
                    last = error
                    self._accounts.attempt_failed(record, entry, error, t0)
                    errors.append(f"{entry.name}: {error.message}")
                    if not falls_back(error):
                        raise
                    if not self.retry.should_retry(error, number):
                        break
                    await self._sleep(self.retry.delay(error, number))
        raise self._exhausted(errors, last)

    async def _relay(
        self,
        record: RequestRecord,
        plan: RoutePlan,
        entry: ModelEntry,
        head: list[JSONDict],
        chunks: AsyncIterator[JSONDict],
        t0: float,
        started: float,
        ttft_ms: float,
        key: CacheKey | None = None,
        judged: JSONDict | None = None,
    ) -> AsyncGenerator[JSONDict, None]:
        """The stream to the caller; `judged` (the request's body) when the judge is to score the answer."""
        usage_chunk: JSONDict | None = None
        delivered_chars = 0
        finished = False
        kept: list[JSONDict] | None = [] if key is not None or judged is not None else None
        try:
            for chunk in head:
                delivered_chars += chars(chunk)
                if kept is not None:
                    kept.append(chunk)
                yield chunk
            async for chunk in chunks:
                if chunk.get("usage"):
                    usage_chunk = chunk
                delivered_chars += chars(chunk)
                if kept is not None:
                    kept.append(chunk)
                yield chunk
            finished = True
        except ProviderError as error:
            interrupted = (
                error
                if isinstance(error, StreamInterrupted)
                else StreamInterrupted(
                    f"the stream from {entry.name} broke after it began: {error.message}",
                    provider=error.provider,
                    status=error.status,
                )
            )
            self._accounts.attempt_failed(record, entry, interrupted, t0, partial_chars=delivered_chars)
            self._accounts.failed(record, interrupted, started, stream_partial=True)
            raise interrupted from error
        finally:
            await close(chunks)
            if finished or record.status == "ok":
                if not finished:
                    record.status = "cancelled"  # the client went away: charge what was produced so far
                outcome = self._accounts.succeeded(
                    record, entry, plan.task, usage_chunk or {}, t0, started, ttft_ms, delivered_chars
                )
                if finished and kept:
                    await self._kept(record.id, outcome, key, kept, judged)

    async def _kept(
        self,
        request_id: str,
        outcome: Outcome,
        key: CacheKey | None,
        kept: list[JSONDict],
        judged: JSONDict | None,
    ) -> None:
        """A finished stream: cached for replay, and offered to the judge when it was sampled."""
        if key is not None:
            await self._remember(key, outcome, chunks=kept)
        if judged is not None and self.judge is not None:
            self.judge.offer(request_id, judged, streamed_text(kept))

    # -- embeddings ---------------------------------------------------------------------------------------------

    async def embed(self, body: JSONDict, caller: Caller, request_id: str) -> tuple[JSONDict, Outcome]:
        name = body.get("model")
        entry = self.catalog.get(name) if isinstance(name, str) else None
        if entry is None:
            from sophia.gateway._router import ModelNotFound

            raise ModelNotFound(f'embedding model "{name}" is not in the catalog; see GET /v1/models')
        found = entry
        admission = await self.budgets.admit(caller, lambda: found.cost(_prompt_tokens(body, "input"), 0))
        record = RequestRecord(request_id, "embeddings", str(name), caller.api_key_id, caller.user_id, False)
        record.admission = admission
        started = t0 = time.perf_counter()
        try:
            response = await self.providers[entry.provider].embed(body, upstream_model=entry.upstream)
        except ProviderError as error:
            self._accounts.attempt_failed(record, entry, error, t0)
            self._accounts.failed(record, error, started)
            raise
        return response, self._accounts.succeeded(record, entry, None, response, t0, started, None)

    # -- outcomes: routing that learns ------------------------------------------------------------------------

    async def record_outcome(
        self, request_id: str, score: float, *, source: str = "feedback", user_id: str | None = None
    ) -> tuple[str, str]:
        """One outcome (feedback, a run's tests, a verified claim) for a request the ledger holds.

        The (task, model) that answered learns from `score` in [0, 1]. With `user_id`, the request must be that
        user's (another user's request is reported as unknown). Returns the (task, model) that learned.
        """
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0.0 <= score <= 1.0:
            raise InvalidInput("score: must be a number from 0 (bad) to 1 (good)")
        if source not in OUTCOME_SOURCES:
            raise InvalidInput(f"source: must be one of {', '.join(OUTCOME_SOURCES)}")
        found = await self.ledger.find(request_id)
        model = found[1] if found is not None else None
        if found is None or model is None or (user_id is not None and found[2] != user_id):
            raise NotFound(f'request "{request_id}" is not in the usage ledger (or did not reach a model)')
        task, _, owner, variant = found
        await self.router.quality.record(
            task=task, model=model, score=float(score), source=source, request_id=request_id, user_id=owner
        )
        if self.experiments is not None:
            await self.experiments.observe(variant, float(score))
        return task or GENERAL_TASK, model

    def variant_for(self, body: JSONDict, caller: Caller) -> Variant | None:
        """The experiment variant (or promoted winner) that will apply to this request, for callers that act on
        its settings before they ask (the chat agent's memory recall); None when there is none."""
        if self.experiments is None:
            return None
        try:
            task = self.router.plan(body, RequestTraits.of(body)).task
        except SophiaError:
            return None
        return self.experiments.variant_for(task, body, caller)[0]

    async def _judged_call(self, body: JSONDict, caller: Caller, request_id: str) -> tuple[JSONDict, Outcome]:
        return await self.complete(body, caller, request_id, cache=CacheMode.BYPASS)

    async def _judged(self, request_id: str, score: float) -> None:
        await self.record_outcome(request_id, score, source="judge")

    # -- the response cache -----------------------------------------------------------------------------------

    def _cache_key(self, body: JSONDict, caller: Caller, mode: CacheMode, *, stream: bool) -> CacheKey | None:
        if self.cache is None or mode is CacheMode.BYPASS:
            return None
        return self.cache.key(body, caller, stream=stream)

    async def _from_cache(
        self, key: CacheKey, body: JSONDict, caller: Caller, request_id: str
    ) -> tuple[CachedAnswer, Outcome] | None:
        """A hit costs nothing: the ledger records it with what the first answer cost as `saved_usd`."""
        assert self.cache is not None
        answer = await self.cache.lookup(key)
        entry = self.catalog.get(answer.model) if answer is not None else None
        if answer is None or entry is None:
            return None
        requested = body.get("model")
        record = RequestRecord(
            request_id,
            "chat",
            requested if isinstance(requested, str) else entry.name,
            caller.api_key_id,
            caller.user_id,
            key.stream,
            task=answer.task,
            model=entry.name,
            provider=entry.provider,
            cache_hit=True,
            saved_usd=answer.cost_usd,
        )
        self.ledger.record(record)
        outcome = Outcome(entry, answer.task, 0.0, 0, answer.input_tokens, answer.output_tokens, cached=True)
        return answer, outcome

    async def _remember(
        self,
        key: CacheKey,
        outcome: Outcome,
        *,
        response: JSONDict | None = None,
        chunks: list[JSONDict] | None = None,
    ) -> None:
        assert self.cache is not None
        answer = CachedAnswer(
            outcome.model.name,
            outcome.task,
            outcome.cost_usd,
            outcome.input_tokens,
            outcome.output_tokens,
            response=response,
            chunks=chunks or [],
        )
        await self.cache.remember(key, answer)

    # -- bookkeeping --------------------------------------------------------------------------------------------

    async def _begin(
        self, body: JSONDict, caller: Caller, request_id: str, *, stream: bool
    ) -> tuple[RoutePlan, RequestRecord, JSONDict]:
        """The plan, the ledger record and the body to send (an experiment's variant may change it)."""
        plan = self.router.plan(body, RequestTraits.of(body))
        label = None
        if self.experiments is not None and plan.task is not None:
            steering = self.experiments.steer(plan, body, caller, self.catalog)
            plan, label = steering.plan, steering.label
            if steering.variant is not None:
                body = steering.variant.apply(body, self.experiments.prompts)
        steered = plan
        admission = await self.budgets.admit(caller, lambda: _worst_cost(steered, body))
        record = RequestRecord(
            request_id, "chat", plan.requested, caller.api_key_id, caller.user_id, stream, task=plan.task
        )
        record.variant = label
        record.admission = admission
        return plan, record, body

    @staticmethod
    def _exhausted(errors: list[str], last: ProviderError | None) -> NoModelAvailable:
        summary = "; ".join(errors) if errors else "no candidate model"
        if last is not None and last.status == 429 and all("429" in e or "rate" in e.lower() for e in errors):
            return NoModelAvailable(f"every model is rate limited: {summary}", last.retry_after, status=429)
        retry_after = last.retry_after if last is not None else None
        return NoModelAvailable(f"no model could answer: {summary}", retry_after)


def _prompt_tokens(body: JSONDict, field: str = "messages") -> int:
    """An upper bound of the prompt's tokens: no tokenizer yields fewer than one token per three characters."""
    return len(json.dumps(body.get(field) or "", ensure_ascii=False)) // 3 + 16


def _worst_cost(plan: RoutePlan, body: JSONDict) -> float:
    """The most the request may cost on any candidate: its prompt and all the output it may ask for."""
    prompt = _prompt_tokens(body)
    asked = body.get("max_completion_tokens") or body.get("max_tokens")
    worst = 0.0
    for entry in plan.candidates:
        output = asked if isinstance(asked, int) and asked > 0 else max(1, entry.context_window - prompt)
        worst = max(worst, entry.cost(prompt, output))
    return worst
