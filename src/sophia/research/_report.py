"""The Markdown report, built by code: a claim's [n] is the number of the passage id it was verified against,
so no citation can name a page that was not read or a passage that does not hold the quote."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from sophia.research._errors import CitationRefused
from sophia.research._model import Claim, Passage, ResearchReport
from sophia.research._passages import contains_quote

__all__ = ["build_report"]

_QUOTE_CHARS = 280


def _escape(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]").replace("<", "&lt;").replace(">", "&gt;")


def build_report(
    question: str,
    mode: Literal["extractive", "model"],
    sub_questions: Sequence[str],
    claims: Sequence[Claim],
    passages: Mapping[str, Passage],
    *,
    stats: Mapping[str, int] | None = None,
    refused: Sequence[str] = (),
) -> ResearchReport:
    """Number passages by first use, one section per sub-question, sources with their quoted passages."""
    cited: dict[str, int] = {}
    for claim in claims:
        passage = passages.get(claim.passage_id)
        if passage is None or not contains_quote(passage.text, claim.quote):
            raise CitationRefused(f"claim cites {claim.passage_id!r}, which does not hold its quote")
        cited.setdefault(claim.passage_id, len(cited) + 1)
    answered = {c.sub_question for c in claims}
    unanswered = [q for q in sub_questions if q not in answered]
    confidence = _overall(sub_questions, claims)
    lines = [f"# {_escape(question)}", "", f"Confidence {confidence:.2f} · {mode} · {len(cited)} sources", ""]
    for sub in sub_questions:
        mine = [c for c in claims if c.sub_question == sub]
        if not mine:
            continue
        if len(sub_questions) > 1:
            lines += [f"## {_escape(sub)}", ""]
        for claim in mine:
            mark = "" if claim.verdict == "supported" else " (weakly supported)"
            lines.append(
                f"- {_escape(claim.text)} [{cited[claim.passage_id]}] — confidence {claim.support:.2f}{mark}"
            )
        lines.append("")
    if unanswered:
        lines += ["## Not answered", ""] + [f"- {_escape(q)}" for q in unanswered] + [""]
    lines += ["## Sources", ""]
    for pid, number in cited.items():
        p = passages[pid]
        quote = " ".join(p.text.split())
        quote = quote if len(quote) <= _QUOTE_CHARS else quote[: _QUOTE_CHARS - 1] + "…"
        lines.append(f"[{number}] [{_escape(p.title)}](<{p.url}>) — “{_escape(quote)}”")
    return ResearchReport(
        question=question,
        mode=mode,
        sub_questions=list(sub_questions),
        claims=list(claims),
        citations=[passages[pid] for pid in cited],
        unanswered=unanswered,
        confidence=confidence,
        markdown="\n".join(lines).rstrip() + "\n",
        stats=dict(stats or {}),
        refused=list(refused),
    )


def _overall(sub_questions: Sequence[str], claims: Sequence[Claim]) -> float:
    """Mean over sub-questions of their best claim's confidence (0 for one not answered)."""
    if not sub_questions:
        return 0.0
    best = {q: 0.0 for q in sub_questions}
    for claim in claims:
        best[claim.sub_question] = max(best.get(claim.sub_question, 0.0), claim.support)
    return sum(best.values()) / len(best)
