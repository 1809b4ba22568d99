"""The model's two jobs, through the gateway with task `research`: plan sub-questions, write claims from passages.

Whatever comes back is only a proposal: sub-questions are capped and cleaned, and every claim goes through
`check_claim` (passage id read, quote in it, sentence supported) before it can reach a report.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

import orjson

from sophia.errors import SophiaError
from sophia.gateway import Caller, Gateway
from sophia.research._errors import ResearchBudgetSpent
from sophia.research._model import Passage

__all__ = ["ModelWriter", "parse_json_object"]

_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def parse_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in a model's answer (models wrap JSON in prose and fences); {} when there is none."""
    match = _OBJECT.search(text or "")
    if match is None:
        return {}
    try:
        data = orjson.loads(match.group())
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


class ModelWriter:
    """`budget_usd` is a hard stop: once the run's spend reaches it, every further call raises
    `ResearchBudgetSpent` (the pipeline then extracts instead)."""

    def __init__(
        self,
        gateway: Gateway,
        caller: Caller,
        *,
        model: str = "sophia/research",
        budget_usd: float = float("inf"),
    ) -> None:
        self.gateway = gateway
        self.caller = caller
        self.model = model
        self.budget_usd = budget_usd
        self.cost_usd = 0.0
        self.calls = 0
        self.last_request_id: str | None = None

    async def ask(self, system: str, user: str, max_tokens: int = 800) -> str:
        if self.cost_usd >= self.budget_usd:
            raise ResearchBudgetSpent(
                f"this research run spent ${self.cost_usd:.4f} of its ${self.budget_usd:.4f} model budget "
                "([research] cost_budget_usd); the rest is extractive"
            )
        body = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": 0.1,
            "max_tokens": max_tokens,
        }
        request_id = f"research-{uuid.uuid4().hex[:12]}"
        self.last_request_id = request_id
        response, outcome = await self.gateway.complete(body, self.caller, request_id)
        self.cost_usd += outcome.cost_usd
        self.calls += 1
        choices = response.get("choices") or [{}]
        return str((choices[0].get("message") or {}).get("content") or "")

    async def clarify(self, question: str) -> str:
        """The question restated so it stands on its own (products, versions, abbreviations spelled out)."""
        text = await self.ask(
            "You prepare research. Restate the user's question as one self-contained, unambiguous question: "
            "name the products and versions it implies and spell out abbreviations; add nothing it does not ask. "
            'Answer with JSON only: {"question": "..."}',
            question,
            max_tokens=200,
        )
        found = parse_json_object(text).get("question")
        return " ".join(found.split())[:500] if isinstance(found, str) else ""

    async def plan(self, question: str, limit: int) -> list[str]:
        text = await self.ask(
            'You plan research. Answer with JSON only: {"sub_questions": ["..."]}, at most '
            f"{limit} short, self-contained questions that together answer the user's question.",
            question,
            max_tokens=300,
        )
        raw = parse_json_object(text).get("sub_questions")
        found = (
            [" ".join(q.split())[:300] for q in raw if isinstance(q, str) and q.strip()]
            if isinstance(raw, list)
            else []
        )
        return found[:limit]

    async def claims(self, sub_question: str, passages: Sequence[Passage]) -> list[dict[str, Any]]:
        listing = "\n\n".join(f"[{p.id}] {p.text}" for p in passages)
        text = await self.ask(
            "You write research findings from the passages given, and only from them. Answer with JSON only: "
            '{"claims": [{"text": "one factual sentence", "passage_id": "the [id] it comes from", '
            '"quote": "the exact words of that passage that say it"}]}. Never write URLs or citation numbers.',
            f"Question: {sub_question}\n\nPassages:\n{listing}",
        )
        raw = parse_json_object(text).get("claims")
        return [c for c in raw if isinstance(c, dict)] if isinstance(raw, list) else []

    async def verified(self, request_id: str, proposed: int, kept: int) -> dict[str, Any]:
        """How the claims of call `request_id` did, for routing that learns: the share of its proposed claims
        that verified, as a run outcome of the model that wrote them (task research)."""
        score = kept / proposed if proposed else 0.0
        try:
            task, model = await self.gateway.record_outcome(request_id, score, source="run")
        except SophiaError as error:
            return {"status": "error", "message": error.message}
        return {"status": "ok", "task": task, "model": model, "score": score}

    async def check(self, sentence: str, quote: str) -> bool:
        """The optional model check: does the quote, and nothing else, say what the sentence says?"""
        text = await self.ask(
            'You check citations. Answer with JSON only: {"supported": true} when the quoted passage, on its own, '
            'states what the sentence says, else {"supported": false}.',
            f"Sentence: {sentence}\n\nQuoted passage: {quote}",
            max_tokens=20,
        )
        return parse_json_object(text).get("supported") is True
