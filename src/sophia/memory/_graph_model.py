"""The graph extractor's and fact learner's path to a model: one gateway call each, charged to the system.

A gateway failure (no model, budget, provider down) is a refused answer: the write goes on (graph: with the rules).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sophia.errors import SophiaError
from sophia.gateway import Caller, Gateway
from sophia.memory._graph_extract import GraphOutputRefused, ModelGraphExtractor

MAX_TOKENS = 600


def gateway_completer(gateway: Gateway, model: str) -> Callable[[str], Awaitable[str]]:
    async def complete(prompt: str) -> str:
        body = {
            "model": model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": 0,
            "max_tokens": MAX_TOKENS,
        }
        try:
            response, _ = await gateway.complete(body, Caller(), f"memory-graph-{uuid.uuid4().hex[:12]}")
        except SophiaError as error:
            raise GraphOutputRefused(f"the memory model could not answer: {type(error).__name__}") from None
        choices = response.get("choices") or [{}]
        return str((choices[0].get("message") or {}).get("content") or "")

    return complete


def gateway_graph_extractor(gateway: Gateway, model: str) -> ModelGraphExtractor:
    return ModelGraphExtractor(gateway_completer(gateway, model))
