"""Roles and resumes as plain text: parsing a role's title, must-haves and nice-to-haves, a resume's lines, and the
term coverage that decides which resume line meets which requirement (deterministic, no model)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sophia.errors import InvalidInput

__all__ = [
    "CandidateDoc",
    "InvalidRecruitDoc",
    "LineMatch",
    "RoleDoc",
    "best_line",
    "parse_candidate",
    "parse_role",
    "slug",
    "terms",
]

MATCH_COVERAGE = 0.6
"""A line meets a requirement when it holds at least this share of the requirement's terms."""
_WORD = re.compile(r"[a-z0-9][a-z0-9+#.]*")
_STOP = frozenset(
    "a an and or the of in on for with to at by from as is are be been was were our we you your their it its "
    "this that these those will can should must have has had having years year experience strong good solid "
    "plus ability able knowledge working work using use used etc e.g i.e role team".split()
)
_HEADING = re.compile(r"^\s*(?:#{1,6}\s*)?(?P<text>[^:]+?)\s*:?\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")


class InvalidRecruitDoc(InvalidInput):
    """A role or resume file that cannot be read as one."""

    code = "invalid_recruit_doc"


def _stem(word: str) -> str:
    word = word.rstrip(".")
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def terms(text: str) -> frozenset[str]:
    """The content words of `text`, lower-cased and lightly stemmed (plural forms meet singular ones)."""
    return frozenset(
        _stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP and len(w.rstrip(".")) > 1
    )


def slug(text: str) -> str:
    """An id from a title or a name: lower-case words joined by dashes."""
    found = "-".join(re.findall(r"[a-z0-9]+", text.lower()))[:80]
    if not found:
        raise InvalidRecruitDoc(f"cannot make an id from {text[:60]!r}: it has no letters or digits")
    return found


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class RoleDoc:
    id: str
    title: str
    must: tuple[str, ...]
    nice: tuple[str, ...]

    def text(self) -> str:
        must = "\n".join(f"- {m}" for m in self.must)
        nice = "\n".join(f"- {n}" for n in self.nice)
        return f"# {self.title}\n## Must have\n{must}\n## Nice to have\n{nice}".rstrip()


@dataclass(frozen=True)
class CandidateDoc:
    id: str
    name: str
    lines: tuple[str, ...]

    def text(self) -> str:
        return "\n".join((f"# {self.name}", *self.lines))


def _section(line: str) -> str | None:
    """'must' or 'nice' when the line is a section heading naming one (a bullet never is)."""
    if _BULLET.match(line):
        return None
    heading = _HEADING.match(line)
    if heading is None or len(heading["text"]) > 40:
        return None
    lowered = heading["text"].lower()
    if "nice" in lowered or "bonus" in lowered or "preferred" in lowered:
        return "nice"
    if "must" in lowered or "required" in lowered or "requirement" in lowered:
        return "must"
    return None


def _title(line: str) -> str:
    return line.lstrip("#").strip().removeprefix("Title:").removeprefix("title:").strip()


def parse_role(text: str) -> RoleDoc:
    """A role from markdown or text: the first line is the title; bullets under a "Must have" heading are the
    must-haves, under "Nice to have" the nice-to-haves."""
    lines = _lines(text)
    if not lines:
        raise InvalidRecruitDoc("the role file is empty; give a title line and a 'Must have' list")
    title, sections = _title(lines[0]), {"must": list[str](), "nice": list[str]()}
    current: str | None = None
    for line in lines[1:]:
        found = _section(line)
        if found is not None:
            current = found
        elif current is not None and _BULLET.match(line):
            item = _BULLET.sub("", line).strip()
            if terms(item):
                sections[current].append(item)
    if not title or not sections["must"]:
        raise InvalidRecruitDoc(
            "the role has no must-haves: list them as bullets under a 'Must have' heading"
            " (and nice-to-haves under 'Nice to have')"
        )
    return RoleDoc(slug(title), title, tuple(sections["must"]), tuple(sections["nice"]))


def parse_candidate(text: str, name: str | None = None) -> CandidateDoc:
    """A resume from text or markdown: its first line is the candidate's name unless `name` is given."""
    lines = [_BULLET.sub("", line).strip() for line in _lines(text)]
    if not lines or (name is None and len(lines) < 2):
        raise InvalidRecruitDoc(
            "the resume is empty; give the candidate's name on the first line, then the resume"
        )
    who = name or _title(lines[0])
    body = tuple(lines if name else lines[1:])
    return CandidateDoc(slug(who), who, body)


@dataclass(frozen=True)
class LineMatch:
    """The resume line that best meets one requirement, and the share of the requirement's terms it holds."""

    requirement: str
    must: bool
    line: str | None
    line_number: int | None
    coverage: float

    @property
    def met(self) -> bool:
        return self.coverage >= MATCH_COVERAGE

    def json(self) -> dict[str, object]:
        return {
            "requirement": self.requirement,
            "must": self.must,
            "met": self.met,
            "line": self.line,
            "line_number": self.line_number,
            "coverage": round(self.coverage, 3),
        }


def best_line(requirement: str, lines: Sequence[str], *, must: bool) -> LineMatch:
    """The first line with the highest coverage of `requirement`'s terms (ties keep the earlier line)."""
    wanted = terms(requirement)
    best: tuple[float, int] = (0.0, -1)
    for number, line in enumerate(lines):
        share = len(wanted & terms(line)) / len(wanted) if wanted else 0.0
        if share > best[0]:
            best = (share, number)
    if best[1] < 0:
        return LineMatch(requirement, must, None, None, 0.0)
    return LineMatch(requirement, must, lines[best[1]], best[1] + 1, best[0])
