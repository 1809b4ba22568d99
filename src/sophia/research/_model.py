"""What sources return and what the pipeline passes along: results, documents, passages, claims, reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = [
    "Claim",
    "Document",
    "Passage",
    "ResearchReport",
    "SearchResult",
    "Source",
    "SubQuestion",
]


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One hit. `lead_only` marks a hit that may point at evidence but is never evidence by itself."""

    url: str
    title: str
    snippet: str
    source: str
    score: float | None = None
    published: str | None = None
    lead_only: bool = False


@dataclass(frozen=True, slots=True)
class Document:
    """A page's main text as read; `text` is what passages are cut from and quotes are checked against."""

    url: str
    title: str
    text: str
    source: str
    content_type: str | None = None


@runtime_checkable
class Source(Protocol):
    """A place to search: the web engines, scholarly APIs, Sophia's memory, a local folder."""

    name: str

    async def search(self, query: str, k: int) -> list[SearchResult]: ...

    async def fetch(self, url: str) -> Document: ...


@dataclass(frozen=True, slots=True)
class Passage:
    """A span of a fetched document; `id` is stable (same URL and text, same id) so citations survive resumes."""

    id: str
    url: str
    title: str
    text: str
    start: int
    source: str

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "title": self.title, "text": self.text, "start": self.start}


@dataclass(frozen=True, slots=True)
class SubQuestion:
    text: str
    passages: tuple[Passage, ...] = ()


@dataclass(frozen=True, slots=True)
class Claim:
    """A sentence tied to one passage and the exact quote from it that supports the sentence."""

    text: str
    passage_id: str
    quote: str
    sub_question: str
    support: float
    verdict: Literal["supported", "weak"]
    checked_by_model: bool = False


@dataclass
class ResearchReport:
    question: str
    mode: Literal["extractive", "model"]
    sub_questions: list[str]
    claims: list[Claim]
    citations: list[Passage]
    unanswered: list[str]
    confidence: float
    markdown: str
    stats: dict[str, int] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    cost_usd: float = 0.0
    """Model spend of the run, replayed steps included."""

    def json(self) -> dict[str, Any]:
        numbers = {p.id: n for n, p in enumerate(self.citations, start=1)}
        return {
            "object": "research.report",
            "question": self.question,
            "mode": self.mode,
            "sub_questions": self.sub_questions,
            "claims": [
                {
                    "text": c.text,
                    "citation": numbers[c.passage_id],
                    "passage_id": c.passage_id,
                    "quote": c.quote,
                    "sub_question": c.sub_question,
                    "confidence": round(c.support, 3),
                    "verdict": c.verdict,
                    "checked_by_model": c.checked_by_model,
                }
                for c in self.claims
            ],
            "citations": [{"n": numbers[p.id], **p.json()} for p in self.citations],
            "unanswered": self.unanswered,
            "confidence": round(self.confidence, 3),
            "markdown": self.markdown,
            "stats": self.stats,
            "refused": self.refused,
            "cost_usd": round(self.cost_usd, 6),
        }
