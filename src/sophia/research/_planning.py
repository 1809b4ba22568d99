"""Sub-questions: from the model when one is asked (task `research`), else split from the question by rule."""

from __future__ import annotations

import re

__all__ = ["split_question"]

_JOINS = re.compile(
    r"\s*(?:\?\s+|;\s*|,?\s+and\s+(?=(?:what|which|how|when|where|who|why|does|do|is|are|can|should|the)\b))",
    re.I,
)
_TOPIC = re.compile(r"\b(?:\w+[._]\w[\w.]*|[A-Z]{2,}\w*)\b")


def split_question(question: str, limit: int) -> list[str]:
    """The question's own clauses (`… and what …`), each carrying the identifiers the first one names
    (`vm.overcommit_memory`, `WAL`): what the later clauses say "it" or "the default" about.

    The whole question always comes first, so planning can only add sub-questions, never lose the original.
    """
    question = " ".join(question.split())
    parts = [p.strip(" ?.") for p in _JOINS.split(question) if p and len(p.strip(" ?.")) > 3]
    if limit <= 1 or len(parts) <= 1:
        return [question]
    names = _TOPIC.findall(parts[0])
    out = [question]
    for part in parts:
        missing = [n for n in names if n.lower() not in part.lower()]
        clause = f"{part} ({' '.join(missing)})" if missing and part is not parts[0] else part
        if clause not in out:
            out.append(clause + "?")
    return out[:limit]
