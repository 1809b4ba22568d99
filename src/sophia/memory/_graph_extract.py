"""Reading entities and relationships out of a memory's text: rules by default, a model when one is given.

The rules find names, emails and their domains, dates, amounts and "X owns / works at / manages / leads / reports
to Y" sentences. A model's answer is held to the same shape (`parse_model_graph`); anything else is refused whole,
so bad output never reaches the graph.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sophia.memory._errors import InvalidMemory

RELATIONS = ("owns", "works_at", "manages", "leads", "reports_to", "in_domain")
SINGLE_SIDE = {
    "works_at": "subject",
    "reports_to": "subject",
    "owns": "object",
    "manages": "object",
    "leads": "object",
}
"""Relations where a new edge contradicts the old: one employer per person, one owner/manager/lead per thing."""

ENTITY_TYPES = ("person", "organization", "name", "email", "domain", "date", "amount")
MAX_NAME = 200


class GraphOutputRefused(InvalidMemory):
    """A model's extraction was not the JSON shape asked for; nothing of it was written."""


@dataclass(frozen=True)
class Entity:
    name: str
    type: str

    @property
    def key(self) -> str:
        return entity_key(self.name)


@dataclass(frozen=True)
class Relation:
    subject: Entity
    relation: str
    object: Entity


@dataclass(frozen=True)
class Extraction:
    entities: tuple[Entity, ...] = ()
    relations: tuple[Relation, ...] = ()

    def all_entities(self) -> list[Entity]:
        """Mentioned entities and relation ends, one per key (the first type seen wins)."""
        found: dict[str, Entity] = {}
        for entity in [*self.entities, *(e for r in self.relations for e in (r.subject, r.object))]:
            found.setdefault(entity.key, entity)
        return list(found.values())


class GraphExtractor(Protocol):
    async def extract(self, text: str, speaker: str | None) -> Extraction: ...


def entity_key(name: str) -> str:
    return " ".join(name.casefold().split())[:MAX_NAME]


_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_STOP = frozenset(
    "the a an i we you he she they it this that these those our my your his her their yes no hi hey hello thanks "
    "thank ok okay so and but or if when what who whom whose which where why how did do does is are was were "
    "also just then there here please sure well oh wow great good nice today tomorrow yesterday last next".split()
    + _MONTHS.lower().split("|")
    + "monday tuesday wednesday thursday friday saturday sunday".split()
)
_WORD = r"[A-Z][\w&'.-]*"
_NAME = rf"{_WORD}(?:\s+{_WORD})*"
_EMAIL = re.compile(r"\b[\w.+-]+@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})\b")
_DATES = (
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "%Y-%m-%d"),
    (re.compile(rf"\b\d{{1,2}} (?:{_MONTHS}),? \d{{4}}\b"), "%d %B %Y"),
    (re.compile(rf"\b(?:{_MONTHS}) \d{{1,2}},? \d{{4}}\b"), "%B %d %Y"),
)
_AMOUNT = re.compile(
    r"(?:[$€£]\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:[kKmMbB]\b|million|billion|thousand))?)"
    r"|(?:\b\d[\d,]*(?:\.\d+)?\s?(?:USD|EUR|GBP|dollars|euros|pounds)\b)"
)
_VERBS = {
    "owns": "owns", "own": "owns", "is the owner of": "owns",
    "works at": "works_at", "work at": "works_at", "works for": "works_at", "work for": "works_at",
    "joined": "works_at", "manages": "manages", "manage": "manages", "is the manager of": "manages",
    "runs": "manages", "leads": "leads", "lead": "leads", "reports to": "reports_to", "report to": "reports_to",
}  # fmt: skip
_VERB = "|".join(sorted((re.escape(v) for v in _VERBS), key=len, reverse=True))
_RELATION = re.compile(
    rf"\b(?P<s>I|{_NAME})\s+(?:now\s+|also\s+|still\s+)?(?P<v>{_VERB})\s+(?:the\s+)?(?P<o>{_NAME})"
)
_NAMES = re.compile(rf"\b{_NAME}")


def clean_name(raw: str) -> str | None:
    """A capitalised run without sentence-start words ("Yesterday Dana" -> "Dana"); None if nothing is left."""
    words = raw.strip(" .'-").split()
    while words and words[0].casefold().strip(".'") in _STOP:
        words.pop(0)
    while words and words[-1].casefold().strip(".'") in _STOP:
        words.pop()
    name = " ".join(words).strip(" .'-")
    return name[:MAX_NAME] if len(name) >= 2 else None


def _dates(text: str) -> list[Entity]:
    found = []
    for pattern, form in _DATES:
        for match in pattern.finditer(text):
            try:
                day = datetime.strptime(match.group().replace(",", ""), form)
            except ValueError:
                continue
            found.append(Entity(day.strftime("%Y-%m-%d"), "date"))
    return found


def _relations(text: str, speaker: str | None) -> list[Relation]:
    found = []
    for match in _RELATION.finditer(text):
        subject = speaker if match["s"] == "I" else clean_name(match["s"])
        obj = clean_name(match["o"])
        if subject is None or obj is None:
            continue
        relation = _VERBS[match["v"]]
        object_type = (
            "organization" if relation == "works_at" else "person" if relation == "reports_to" else "name"
        )
        found.append(Relation(Entity(subject, "person"), relation, Entity(obj, object_type)))
    return found


class RuleGraphExtractor:
    """The extractor with no model: cheap enough to run inside every memory write."""

    async def extract(self, text: str, speaker: str | None) -> Extraction:
        return extract_rules(text, speaker)


def extract_rules(text: str, speaker: str | None = None) -> Extraction:
    entities: list[Entity] = []
    relations = _relations(text, speaker)
    for match in _EMAIL.finditer(text):
        email, domain = Entity(match.group().lower(), "email"), Entity(match.group(1).lower(), "domain")
        entities += [email, domain]
        relations.append(Relation(email, "in_domain", domain))
    entities += _dates(text)
    entities += [Entity(" ".join(m.group().split()), "amount") for m in _AMOUNT.finditer(text)]
    without_emails = _EMAIL.sub(" ", text)
    for match in _NAMES.finditer(without_emails):
        name = clean_name(match.group())
        if name is not None and not any(ch.isdigit() for ch in name):
            entities.append(Entity(name, "name"))
    if speaker and speaker.strip():
        entities.append(Entity(speaker.strip()[:MAX_NAME], "person"))
    return Extraction(tuple(entities), tuple(relations))


MODEL_PROMPT = (
    "Extract the entities and relationships from the text below. Answer with one JSON object only: "
    '{"entities": [{"name": str, "type": one of ' + json.dumps(list(ENTITY_TYPES)) + "}], "
    '"relations": [{"subject": str, "relation": one of '
    + json.dumps(list(RELATIONS))
    + ', "object": str}]}. '
    "Relation ends must also be listed as entities.\n\n"
)


def parse_model_graph(answer: str) -> Extraction:
    """The model's JSON, checked whole: unknown types or relations, long names or stray keys refuse it all."""
    try:
        data = json.loads(answer.strip().removeprefix("```json").removeprefix("```").removesuffix("```"))
    except ValueError:
        raise GraphOutputRefused("the model's graph extraction is not JSON") from None
    if not isinstance(data, dict) or set(data) - {"entities", "relations"}:
        raise GraphOutputRefused("the model's graph extraction must be an object with entities and relations")
    entities = {_name(e, "name"): _entity(e) for e in _items(data.get("entities", []), {"name", "type"})}
    relations = []
    for item in _items(data.get("relations", []), {"subject", "relation", "object"}):
        subject, obj = _name(item, "subject"), _name(item, "object")
        if item["relation"] not in RELATIONS or subject not in entities or obj not in entities:
            raise GraphOutputRefused(
                f"relation {str(item.get('relation'))[:40]!r} is unknown or names an unlisted entity"
            )
        relations.append(Relation(entities[subject], str(item["relation"]), entities[obj]))
    return Extraction(tuple(entities.values()), tuple(relations))


def _items(value: Any, keys: set[str]) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(i, dict) and set(i) == keys for i in value):
        raise GraphOutputRefused(f"every item must have exactly the keys {sorted(keys)}")
    return value


def _name(item: dict[str, Any], key: str) -> str:
    value = item[key]
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
        raise GraphOutputRefused(f"{key} must be a non-empty string of at most {MAX_NAME} characters")
    return value.strip()


def _entity(item: dict[str, Any]) -> Entity:
    if item["type"] not in ENTITY_TYPES:
        raise GraphOutputRefused(f"entity type {str(item['type'])[:40]!r} is not one of {list(ENTITY_TYPES)}")
    return Entity(_name(item, "name"), str(item["type"]))


class ModelGraphExtractor:
    """Asks a model (through the gateway, via `complete`) and falls back to the rules when its answer is refused."""

    def __init__(self, complete: Callable[[str], Awaitable[str]]) -> None:
        self.complete = complete
        self.refused = 0

    async def extract(self, text: str, speaker: str | None) -> Extraction:
        prefix = f"{speaker}: " if speaker else ""
        try:
            return parse_model_graph(await self.complete(MODEL_PROMPT + prefix + text))
        except GraphOutputRefused:
            self.refused += 1
            return extract_rules(text, speaker)
