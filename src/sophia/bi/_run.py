"""The `bi` run kind: a business question as a durable run.

The planning model call, the query and the wording model call are each a checkpointed step, so a worker
killed after the model wrote the SQL resumes at the query without asking the model again. The answer's JSON
(text, SQL, rows, citations, chart) is the run's output.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import orjson

from sophia.agents import StepExecutor, StepRecord
from sophia.bi._ask import Step
from sophia.bi._service import BiService
from sophia.gateway import Caller
from sophia.runs import KindCall, KindOutcome

__all__ = ["BiRun", "durable_step"]

_SEQ = {"model:plan": 1, "query": 2, "model:answer": 3}


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else str(value)


def durable_step(steps: StepExecutor, agent: str = "bi") -> Step:
    """`ask`'s step runner on a run's steps: each body's value is checkpointed as JSON (a replay sees exactly
    what the first pass saw) and shown as a run step."""

    async def step(name: str, body: Callable[[], Awaitable[Any]]) -> Any:
        async def checkpointed() -> dict[str, Any]:
            value = orjson.loads(orjson.dumps(await body(), default=_plain))
            return {"value": value}

        seq = _SEQ.get(name, 9)
        kept = (await steps.run_step(seq, name, checkpointed, once=False))["value"]
        failed = isinstance(kept, dict) and "error" in kept
        await steps.record(
            StepRecord(
                seq,
                "model" if name.startswith("model:") else "tool",
                name,
                agent,
                "error" if failed else "ok",
                detail={"rows": len(kept.get("rows", ()))} if isinstance(kept, dict) else {},
                error=str(kept["error"]) if failed else None,
            )
        )
        return kept

    return step


class BiRun:
    """The executor `RunRuntime.kinds["bi"]` calls; options may carry `model` and `source`."""

    def __init__(self, service: BiService, *, model: str = "auto") -> None:
        self.service = service
        self.model = model

    async def __call__(self, call: KindCall) -> KindOutcome:
        model = str(call.options.get("model") or self.model)
        source = call.options.get("source")
        answer = await self.service.ask(
            call.task,
            model=model,
            caller=Caller(user_id=str(call.context.user_id) if call.context.user_id is not None else None),
            source=str(source) if source else None,
            step=durable_step(call.steps),
        )
        return KindOutcome(  # "cannot answer from the data" is an answer too: the run succeeded in saying so
            "succeeded",
            json.dumps(answer.json()),
            detail={"answered": answer.answered, "citations": len(answer.citations)},
        )
