"""Reading the unified business tables for the analyses."""

from __future__ import annotations

from collections.abc import Sequence

from sophia.bi._coach import CoachPhrases, TeamCoach, coach
from sophia.business import BusinessStore

__all__ = ["load_coach"]


async def load_coach(
    store: BusinessStore, *, source: str | Sequence[str] | None = None, phrases: CoachPhrases | None = None
) -> TeamCoach:
    """The coach over every live call of `source` (every source when None)."""
    frames = await store.frames(source=source, kinds=("reps", "calls", "call_sentences"))
    return coach(frames["calls"], frames["call_sentences"], frames["reps"], phrases)
