"""The recruiting desk: roles and resumes kept as memories in a restricted `hr:` namespace, and candidates ranked
for a role by must-have coverage plus memory's hybrid relevance, each requirement tied to the resume line that
meets it. The score is code; a model may only word a summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from sophia.bi._ask import Ask
from sophia.bi._recruit_docs import CandidateDoc, LineMatch, RoleDoc, best_line, parse_candidate
from sophia.errors import NotFound
from sophia.memory import Memory, MemoryKind, MemoryService

__all__ = [
    "HR_NAMESPACE",
    "MUST_WEIGHT",
    "CandidateMatch",
    "RecruitDesk",
    "RecruitNotFound",
    "Saved",
    "score_candidate",
    "template_summary",
]

HR_NAMESPACE = "hr:recruiting"
"""Where personal data lives: readable only by callers the shells let into `hr:` namespaces (admins)."""
MUST_WEIGHT, NICE_WEIGHT, RELEVANCE_WEIGHT = 0.7, 0.15, 0.15


class RecruitNotFound(NotFound):
    code = "recruit_not_found"


@dataclass(frozen=True)
class Saved:
    """What an add or a notes write left: the record's id and the memory version now current."""

    id: str
    memory_id: str
    version: int

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "memory_id": self.memory_id, "version": self.version}


@dataclass(frozen=True)
class CandidateMatch:
    candidate_id: str
    name: str
    score: float
    must_coverage: float
    nice_coverage: float
    relevance: float
    reasons: tuple[LineMatch, ...]
    summary: str

    @property
    def missing(self) -> list[str]:
        return [r.requirement for r in self.reasons if not r.met]

    def json(self) -> dict[str, Any]:
        return {
            "candidate_id": self.candidate_id,
            "name": self.name,
            "score": round(self.score, 4),
            "must_coverage": round(self.must_coverage, 4),
            "nice_coverage": round(self.nice_coverage, 4),
            "relevance": round(self.relevance, 4),
            "reasons": [r.json() for r in self.reasons],
            "missing": self.missing,
            "summary": self.summary,
        }


def _coverage(matches: Sequence[LineMatch]) -> float:
    return fmean(1.0 if m.met else 0.0 for m in matches) if matches else 0.0


def template_summary(name: str, reasons: Sequence[LineMatch]) -> str:
    must = [r for r in reasons if r.must]
    met = sum(r.met for r in must)
    missing = [r.requirement for r in reasons if not r.met]
    gaps = f"; missing: {', '.join(missing)}" if missing else "; no gaps"
    return f"{name} meets {met} of {len(must)} must-haves{gaps}."


class RecruitDesk:
    """Roles, candidates and interview notes in one `hr:` namespace of memory."""

    def __init__(self, memory: MemoryService, namespace: str = HR_NAMESPACE) -> None:
        self.memory = memory
        self.namespace = namespace

    async def current(self, hr: str, **where: str) -> list[Memory]:
        """The current memories of one type (`role`, `candidate`, `notes`) matching `where` on metadata."""
        found = []
        async for memory in self.memory.export(namespaces=self.namespace):
            meta = memory.metadata
            if meta.get("hr") == hr and all(meta.get(k) == v for k, v in where.items()):
                found.append(memory)
        return found

    async def history(self, hr: str, **where: str) -> list[Memory]:
        """Every version (closed ones too), oldest first."""
        found = []
        async for memory in self.memory.export(namespaces=self.namespace, current_only=False):
            meta = memory.metadata
            if meta.get("hr") == hr and all(meta.get(k) == v for k, v in where.items()):
                found.append(memory)
        return sorted(found, key=lambda m: (m.valid_from, m.id))

    async def put(self, hr: str, content: str, metadata: dict[str, Any], **key: str) -> Saved:
        """Remember a new record, or a new version of the one with the same key."""
        existing = await self.current(hr, **key)
        meta = {"hr": hr, **key, **metadata}
        if existing:
            memory_id = await self.memory.update(
                existing[0].id, content, namespaces=self.namespace, metadata=meta
            )
        else:
            memory_id = await self.memory.remember(
                content, namespace=self.namespace, kind=MemoryKind.FACT, metadata=meta, source=f"recruit:{hr}"
            )
        version = len(await self.history(hr, **key))
        return Saved("/".join(key.values()), memory_id, version)

    async def add_role(self, role: RoleDoc) -> Saved:
        meta = {"title": role.title, "must": list(role.must), "nice": list(role.nice)}
        return await self.put("role", role.text(), meta, role_id=role.id)

    async def add_candidate(self, candidate: CandidateDoc) -> Saved:
        return await self.put(
            "candidate", candidate.text(), {"name": candidate.name}, candidate_id=candidate.id
        )

    async def roles(self) -> list[RoleDoc]:
        return sorted((_role(m) for m in await self.current("role")), key=lambda r: r.id)

    async def role(self, role_id: str) -> RoleDoc:
        found = await self.current("role", role_id=role_id)
        if not found:
            known = ", ".join(r.id for r in await self.roles()) or "none yet"
            raise RecruitNotFound(f"no role {role_id[:80]!r}; roles: {known} (add one with recruit add-role)")
        return _role(found[0])

    async def candidates(self) -> list[CandidateDoc]:
        return sorted((_candidate(m) for m in await self.current("candidate")), key=lambda c: c.id)

    async def candidate(self, candidate_id: str) -> CandidateDoc:
        found = await self.current("candidate", candidate_id=candidate_id)
        if not found:
            raise RecruitNotFound(
                f"no candidate {candidate_id[:80]!r}; add their resume with recruit add-candidate"
            )
        return _candidate(found[0])

    async def match(self, role_id: str, *, k: int = 10, summarize: Ask | None = None) -> list[CandidateMatch]:
        """Candidates for the role, best first: 0.7 × must-have coverage + 0.15 × nice-to-have coverage +
        0.15 × memory's hybrid relevance of the resume to the role (scaled to the best one)."""
        role = await self.role(role_id)
        candidates = await self.candidates()
        relevance = await self._relevance(role, len(candidates))
        ranked = sorted(
            (score_candidate(role, c, relevance.get(c.id, 0.0)) for c in candidates),
            key=lambda m: (-m.score, m.candidate_id),
        )[:k]
        if summarize is not None:
            ranked = [await _worded(m, role, summarize) for m in ranked]
        return ranked

    async def _relevance(self, role: RoleDoc, count: int) -> dict[str, float]:
        if not count:
            return {}
        hits = await self.memory.recall(
            role.text(), self.namespace, k=min(100, count), filters={"metadata.hr": "candidate"}
        )
        scores = {str(h.memory.metadata.get("candidate_id")): h.score for h in hits}
        top = max(scores.values(), default=0.0)
        return {c: s / top for c, s in scores.items()} if top > 0 else {}


def score_candidate(role: RoleDoc, candidate: CandidateDoc, relevance: float = 0.0) -> CandidateMatch:
    """The candidate's score for the role with every requirement's best resume line."""
    must = [best_line(r, candidate.lines, must=True) for r in role.must]
    nice = [best_line(r, candidate.lines, must=False) for r in role.nice]
    must_cov, nice_cov = _coverage(must), _coverage(nice)
    score = MUST_WEIGHT * must_cov + NICE_WEIGHT * nice_cov + RELEVANCE_WEIGHT * relevance
    reasons = (*must, *nice)
    return CandidateMatch(
        candidate.id,
        candidate.name,
        score,
        must_cov,
        nice_cov,
        relevance,
        reasons,
        template_summary(candidate.name, reasons),
    )


def _role(memory: Memory) -> RoleDoc:
    meta = memory.metadata
    return RoleDoc(str(meta["role_id"]), str(meta["title"]), tuple(meta["must"]), tuple(meta.get("nice", ())))


def _candidate(memory: Memory) -> CandidateDoc:
    doc = parse_candidate(memory.content)
    return CandidateDoc(str(memory.metadata["candidate_id"]), str(memory.metadata["name"]), doc.lines)


async def _worded(match: CandidateMatch, role: RoleDoc, model: Ask) -> CandidateMatch:
    """The model's one-paragraph summary of the reasons; the score and reasons stay the code's."""
    from dataclasses import replace

    reasons = "\n".join(
        f"- {r.requirement}: {'met by ' + repr(r.line) if r.met else 'missing'}" for r in match.reasons
    )
    text = (
        await model(
            "Summarize in one or two sentences how the candidate fits the role, from these findings only.",
            f"Role: {role.title}\nCandidate: {match.name}\nFindings:\n{reasons}",
        )
    ).strip()
    return replace(match, summary=text[:600]) if text else match
