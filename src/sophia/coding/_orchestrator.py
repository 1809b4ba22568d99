"""The `code` run kind: a durable coding task. The worker's shell builds one `CodingOrchestrator` and plugs it in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from sophia.agents import RunLimits, StepExecutor
from sophia.coding._lessons import CodingLessons, repository_namespace
from sophia.coding._loop import CodingOptions, CodingResult, CodingTask
from sophia.coding._repomap import SummaryCache
from sophia.coding._session import CodeSession
from sophia.errors import SophiaError
from sophia.gateway import Gateway
from sophia.memory import MemoryService
from sophia.runs import KindCall, KindOutcome
from sophia.tools import ToolContext, ToolInvoker

__all__ = ["CodeView", "CodingOrchestrator", "code_view", "render_result"]

_OUTPUT_DIFF_CHARS = 30_000
_OUTPUT_CHECK_CHARS = 6_000


def render_result(result: CodingResult) -> str:
    """The run's output: summary, the whole diff and the last check output, as the dashboard shows it."""
    parts = [result.summary()]
    if result.diff:
        parts.append("--- diff ---\n" + result.diff[:_OUTPUT_DIFF_CHARS])
    for check in result.checks:
        parts.append(
            f"--- {check['command']} ({check['status']}) ---\n{check['output'][-_OUTPUT_CHECK_CHARS:]}"
        )
    if result.review:
        parts.append("--- self-review ---\n" + result.review)
    return "\n\n".join(parts)


_SECTION = re.compile(r"\n\n--- (diff|self-review|(.+) \((passed|failed|timed_out|unavailable)\)) ---\n")


@dataclass(frozen=True, slots=True)
class CheckView:
    command: str
    status: str
    output: str


@dataclass(frozen=True, slots=True)
class CodeView:
    """A code run's output cut back into what `render_result` wrote: summary, diff, checks, review."""

    summary: str
    diff: str = ""
    checks: tuple[CheckView, ...] = ()
    review: str = ""


def code_view(output: str) -> CodeView:
    found = list(_SECTION.finditer(output))
    summary = output[: found[0].start()] if found else output
    diff, review, checks = "", "", []
    for index, match in enumerate(found):
        end = found[index + 1].start() if index + 1 < len(found) else len(output)
        body = output[match.end() : end]
        if match.group(1) == "diff":
            diff = body
        elif match.group(1) == "self-review":
            review = body
        else:
            checks.append(CheckView(match.group(2), match.group(3), body))
    return CodeView(summary, diff, tuple(checks), review)


@dataclass
class CodingOrchestrator:
    gateway: Gateway | None
    invoker: ToolInvoker
    memory: MemoryService | None = None
    model: str = "sophia/coding"
    cache: SummaryCache = field(default_factory=SummaryCache)

    def task(
        self, steps: StepExecutor, context: ToolContext, limits: RunLimits, options: CodingOptions
    ) -> CodingTask:
        if context.workspace is None:
            raise SophiaError("a code run needs a workspace to clone the repository into")
        session = CodeSession(
            self.gateway, self.invoker, steps, context=context, limits=limits, model=self.model
        )
        namespace = options.namespace or repository_namespace(options.source)
        entry = self.gateway.catalog.get(self.model) if self.gateway is not None else None
        window = options.context_tokens or (entry.context_window if entry is not None else None)
        record = {**options.to_record(), "namespace": namespace, "context_tokens": window}
        options = CodingOptions.from_record(record)
        lessons = CodingLessons(self.memory) if self.memory is not None else None
        embedder = self.memory.embedder if self.memory is not None else None
        return CodingTask(
            session, Path(context.workspace), options, lessons=lessons, cache=self.cache, embedder=embedder
        )

    async def __call__(self, call: KindCall) -> KindOutcome:
        options = CodingOptions.from_record(call.options)
        if not options.source:
            raise SophiaError("a code run needs the repository (`source`) to work on")
        result = await self.task(call.steps, call.context, call.limits, options).run(call.task)
        succeeded = result.status == "resolved" and not result.problems
        return KindOutcome(
            "succeeded" if succeeded else "failed",
            render_result(result),
            cost_usd=result.cost_usd,
            error=None if succeeded else ("; ".join(result.problems) or f"the task ended {result.status}"),
            detail=result.to_record(),
        )
