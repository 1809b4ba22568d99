"""The semantic cache: a paraphrase of an earlier request (cosine similarity of embeddings above a threshold) is
answered like the earlier request, within one namespace only.

A namespace is the tenant plus everything in the request except the last message's text (model, sampling
parameters, tools, the conversation before it), so a close question from the same user in the same setting may hit;
another user's never can. The embedder is injected (the memory layer's MiniLM, loaded on first use) and runs in a
worker thread; the vectors live in this process, the answers in the cache's store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

EmbedFunction = Callable[[Sequence[str]], Any]
"""Texts -> rows of unit-length vectors (a NumPy array), as `sophia.memory.Embedder.embed` gives."""


def last_text(body: Mapping[str, Any]) -> str:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return ""
    content = messages[-1].get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(p.get("text")) for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def without_last_text(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body with the last message's content removed (its role kept), for the namespace."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return dict(body)
    last = messages[-1]
    head = [*messages[:-1], {"role": last.get("role")} if isinstance(last, dict) else None]
    return {**body, "messages": head}


@dataclass(slots=True)
class _Namespace:
    keys: list[str] = field(default_factory=list)
    vectors: list[Any] = field(default_factory=list)


class SemanticIndex:
    """Vectors of cached requests per namespace; `nearest` gives the key of the closest one above the threshold."""

    def __init__(self, embed: EmbedFunction, *, threshold: float, max_per_namespace: int = 256) -> None:
        self._embed = embed
        self.threshold = threshold
        self._max = max_per_namespace
        self._spaces: dict[str, _Namespace] = {}
        self._last: tuple[str, Any] | None = None  # a miss embeds the text once for the lookup and the add

    async def _vector(self, text: str) -> Any:
        if self._last is not None and self._last[0] == text:
            return self._last[1]
        rows = await asyncio.to_thread(self._embed, [text])
        vector = rows[0]
        self._last = (text, vector)
        return vector

    async def nearest(self, namespace: str, text: str) -> tuple[str, float] | None:
        space = self._spaces.get(namespace)
        if space is None or not space.keys or not text:
            return None
        import numpy as np  # only when the semantic cache is on

        vector = await self._vector(text)
        scores = np.asarray(space.vectors) @ np.asarray(vector)
        best = int(np.argmax(scores))
        score = float(scores[best])
        return (space.keys[best], score) if score >= self.threshold else None

    async def add(self, namespace: str, text: str, key: str) -> None:
        if not text:
            return
        vector = await self._vector(text)
        space = self._spaces.setdefault(namespace, _Namespace())
        if key in space.keys:
            return
        space.keys.append(key)
        space.vectors.append(vector)
        if len(space.keys) > self._max:
            del space.keys[0], space.vectors[0]


__all__ = ["EmbedFunction", "SemanticIndex", "last_text", "without_last_text"]
