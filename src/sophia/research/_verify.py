"""Checking a claim against the passage it cites: the passage must exist, the quote must be in it, and the
sentence must say what the quote says (a lexical support score; numbers must match exactly).

Everything a model writes passes through `check_claim`, so an invented URL, an id that was never read or a
quote the passage does not hold is refused before a report is built: citations come from passage ids, by code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sophia.memory import query_terms
from sophia.research._model import Claim, Passage
from sophia.research._passages import contains_quote, normalise

__all__ = ["ClaimCheck", "check_claim", "coverage", "support_score"]

_URL = re.compile(r"\b(?:https?|ftp|file)://\S+|\bwww\.\S+", re.I)
_CITATION_MARK = re.compile(r"\s*\[(?:\d+|[a-z]?\w{0,20})\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "ly", "s")
SUPPORTED = 0.75
WEAK = 0.5


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _stems(text: str) -> set[str]:
    return {_stem(w) for w in query_terms(text)}


def coverage(question: str, text: str) -> float:
    """Share of the question's content words (stemmed) that the text contains."""
    wanted = _stems(question)
    return len(wanted & _stems(text)) / len(wanted) if wanted else 0.0


def support_score(sentence: str, evidence: str) -> float:
    """How much of the sentence the evidence says: content-word coverage, capped when a number is not in it."""
    score = coverage(sentence, evidence)
    numbers = set(_NUMBER.findall(sentence))
    if numbers - set(_NUMBER.findall(evidence)):
        score = min(score, 0.3)
    return score


@dataclass(frozen=True, slots=True)
class ClaimCheck:
    claim: Claim | None
    reason: str | None  # why it was refused or dropped


def check_claim(raw: Mapping[str, Any], passages: Mapping[str, Passage], sub_question: str) -> ClaimCheck:
    """A model's `{"text", "passage_id", "quote"}` as a verified `Claim`, or the reason it is refused."""
    text, pid, quote = raw.get("text"), raw.get("passage_id"), raw.get("quote")
    if not isinstance(text, str) or not isinstance(pid, str) or not isinstance(quote, str):
        return ClaimCheck(None, "claim is not {text, passage_id, quote} strings")
    passage = passages.get(pid)
    if passage is None:
        return ClaimCheck(None, f"cites passage {pid[:40]!r}, which was never read")
    if _URL.search(text) or _URL.search(quote):
        return ClaimCheck(None, "writes a URL of its own; citations are built from passage ids")
    sentence = normalise(_CITATION_MARK.sub("", text))
    if not sentence:
        return ClaimCheck(None, "claim has no text")
    if not contains_quote(passage.text, quote):
        return ClaimCheck(None, f"quote is not in passage {pid}")
    support = max(support_score(sentence, quote), 0.0)
    if support < WEAK:
        return ClaimCheck(None, f"passage {pid} does not support the sentence (support {support:.2f})")
    verdict: Literal["supported", "weak"] = "supported" if support >= SUPPORTED else "weak"
    return ClaimCheck(Claim(sentence, pid, normalise(quote), sub_question, support, verdict), None)
