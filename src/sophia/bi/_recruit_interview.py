"""Interview questions from a role and a candidate's gaps, and structured interview notes (per-requirement
evidence quoted from the interviewer's notes and a 1–5 rating) validated before they are stored as versions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sophia.bi._ask import Ask
from sophia.bi._recruit import CandidateMatch, RecruitDesk, Saved, score_candidate
from sophia.bi._recruit_docs import RoleDoc, best_line
from sophia.errors import InvalidInput

__all__ = [
    "InterviewNotes",
    "NotesRefused",
    "Questions",
    "RequirementNote",
    "interview_questions",
    "save_notes",
    "structure_notes",
]

MAX_QUESTIONS = 12
_RATING = re.compile(r"\b([1-5])\s*/\s*5\b")
_RECOMMEND = re.compile(r"recommend(?:ation)?\s*:\s*(no[ _-]?hire|hire|undecided)", re.I)


class NotesRefused(InvalidInput):
    """Interview notes (from a model or a file) that do not fit the schema or cite what the notes do not say."""

    code = "notes_refused"


class RequirementNote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requirement: str = Field(min_length=1, max_length=300)
    evidence: str = Field(default="", max_length=1000)
    rating: int | None = Field(default=None, ge=1, le=5)


class InterviewNotes(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requirements: list[RequirementNote] = Field(max_length=50)
    summary: str = Field(default="", max_length=2000)
    recommendation: Literal["hire", "no_hire", "undecided"] = "undecided"


@dataclass
class Questions:
    role_id: str
    candidate_id: str
    source: str
    """'model' or 'template'."""
    questions: list[dict[str, Any]]
    refused: str | None = None
    gaps: list[str] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _template_questions(match: CandidateMatch) -> list[dict[str, Any]]:
    asked: list[dict[str, Any]] = []
    for r in sorted(match.reasons, key=lambda r: (r.met, not r.must)):
        if not r.met and r.must:
            text = (
                f"The role needs {r.requirement}, and your resume does not show it. What have you done that "
                "comes closest, and how would you close the gap?"
            )
        elif not r.met:
            text = f"Have you worked with {r.requirement}? Tell us where, or how you would pick it up."
        else:
            text = f'You wrote "{r.line}". Walk us through it: what was your part, and what would you change?'
        asked.append({"requirement": r.requirement, "gap": not r.met, "question": text})
    return asked[:MAX_QUESTIONS]


def _json_object(text: str) -> Any:
    found = re.search(r"\{.*\}", text, re.S)
    try:
        return orjson.loads(found.group()) if found else None
    except orjson.JSONDecodeError:
        return None


def _model_questions(answer: str, role: RoleDoc, gaps: Sequence[str]) -> list[dict[str, Any]] | str:
    """The model's questions if on shape (known requirements, 1..12 strings), else why not."""
    data = _json_object(answer)
    items = data.get("questions") if isinstance(data, dict) else None
    known = {*role.must, *role.nice}
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_QUESTIONS:
        return f"expected {{'questions': [1..{MAX_QUESTIONS} items]}}"
    out = []
    for item in items:
        if not isinstance(item, dict) or item.get("requirement") not in known:
            return "every question must name one of the role's requirements"
        question = item.get("question")
        if not isinstance(question, str) or not 10 <= len(question) <= 500:
            return "every question must be a sentence of 10..500 characters"
        out.append(
            {"requirement": item["requirement"], "gap": item["requirement"] in gaps, "question": question}
        )
    return out


async def interview_questions(
    desk: RecruitDesk, role_id: str, candidate_id: str, model: Ask | None = None
) -> Questions:
    """Questions on the candidate's gaps first, then on what their resume claims; templated without a model."""
    role = await desk.role(role_id)
    match = score_candidate(role, await desk.candidate(candidate_id))
    gaps = match.missing
    if model is None:
        return Questions(role.id, candidate_id, "template", _template_questions(match), gaps=gaps)
    findings = "\n".join(
        f"- {r.requirement} ({'must' if r.must else 'nice'}): {'resume line ' + repr(r.line) if r.met else 'GAP'}"
        for r in match.reasons
    )
    answer = await model(
        "You write interview questions for a candidate. Ask about the gaps first. Answer with JSON only: "
        '{"questions": [{"requirement": "one of the requirements, verbatim", "question": "..."}]}',
        f"Role: {role.title}\nRequirements and findings:\n{findings}",
    )
    got = _model_questions(answer, role, gaps)
    if isinstance(got, str):
        return Questions(
            role.id, candidate_id, "template", _template_questions(match), refused=got, gaps=gaps
        )
    return Questions(role.id, candidate_id, "model", got, gaps=gaps)


def _squash(text: str) -> str:
    return " ".join(text.split()).lower()


def check_notes(data: Any, role: RoleDoc, raw: str) -> InterviewNotes:
    """Validated notes: the schema, only the role's requirements (each once), evidence quoted from `raw`."""
    try:
        notes = InterviewNotes.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise NotesRefused(f"the notes do not fit the schema: {where}: {first['msg']}") from None
    known, seen, source = {*role.must, *role.nice}, set[str](), _squash(raw)
    for note in notes.requirements:
        if note.requirement not in known:
            raise NotesRefused(f"{note.requirement[:80]!r} is not one of the role's requirements")
        if note.requirement in seen:
            raise NotesRefused(f"{note.requirement[:80]!r} is noted twice")
        seen.add(note.requirement)
        if note.evidence and _squash(note.evidence) not in source:
            raise NotesRefused(f"the evidence for {note.requirement[:80]!r} is not quoted from the notes")
    return notes


def _rule_notes(role: RoleDoc, raw: str) -> dict[str, Any]:
    lines = [line.strip(" -*\t") for line in raw.splitlines() if line.strip()]
    requirements = []
    for requirement, must in [*((m, True) for m in role.must), *((n, False) for n in role.nice)]:
        hit = best_line(requirement, lines, must=must)
        evidence = hit.line if hit.met and hit.line else ""
        rating = _RATING.search(evidence)
        requirements.append(
            {"requirement": requirement, "evidence": evidence, "rating": int(rating[1]) if rating else None}
        )
    summary = next(
        (line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("summary:")), ""
    )
    found = _RECOMMEND.search(raw)
    verdict = "undecided" if found is None else found[1].lower().replace(" ", "_").replace("-", "_")
    return {
        "requirements": requirements,
        "summary": summary,
        "recommendation": "no_hire" if verdict.startswith("no") else verdict,
    }


async def structure_notes(role: RoleDoc, raw: str, model: Ask | None = None) -> InterviewNotes:
    """Notes from the interviewer's text: by the model (refused when off shape) or by matching lines to the
    requirements (a rating is an 'N/5' on the line)."""
    if model is None:
        return check_notes(_rule_notes(role, raw), role, raw)
    requirements = "\n".join(f"- {r}" for r in (*role.must, *role.nice))
    answer = await model(
        "Turn interview notes into JSON only: "
        '{"requirements": [{"requirement": "verbatim from the list", "evidence": "a quote from the notes", '
        '"rating": 1-5 or null}], "summary": "...", "recommendation": "hire" | "no_hire" | "undecided"}',
        f"Requirements:\n{requirements}\n\nNotes:\n{raw}",
    )
    data = _json_object(answer)
    if data is None:
        raise NotesRefused("the model's notes are not a JSON object")
    return check_notes(data, role, raw)


async def save_notes(
    desk: RecruitDesk, role_id: str, candidate_id: str, raw: str, model: Ask | None = None
) -> tuple[Saved, InterviewNotes]:
    """Structure and store the notes as the newest version for this role and candidate."""
    role = await desk.role(role_id)
    await desk.candidate(candidate_id)
    if not raw.strip():
        raise NotesRefused("the notes are empty")
    notes = await structure_notes(role, raw, model)
    rendered = "\n".join(
        f"{n.requirement}: {n.rating or '-'}/5 {n.evidence}".rstrip() for n in notes.requirements
    )
    content = f"Interview notes: {candidate_id} for {role_id}\n{rendered}\n{notes.summary}".strip()
    saved = await desk.put(
        "notes", content, {"notes": notes.model_dump()}, role_id=role_id, candidate_id=candidate_id
    )
    return saved, notes
