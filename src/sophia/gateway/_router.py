"""Task routing: from a request's `model` field to an ordered list of deployments to try."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from sophia.config import TASKS, RoutingSettings, suggest
from sophia.errors import InvalidInput, NotFound
from sophia.gateway._breaker import BreakerBoard, BreakerState
from sophia.gateway._catalog import LOCAL_MODEL, Catalog, ModelEntry
from sophia.gateway._health import HealthBoard
from sophia.gateway._quality import QualityBook

TASK_PREFIX = "sophia/"
AUTO = "auto"
SIMPLE_PROMPT_CHARS = 400


class ModelNotFound(NotFound):
    code = "model_not_found"


@dataclass(frozen=True, slots=True)
class RequestTraits:
    """What routing needs to know about a request, read once without validating the rest of the body."""

    has_images: bool
    has_tools: bool
    wants_json: bool
    prompt_chars: int
    last_user_text: str

    @property
    def simple(self) -> bool:
        return not (self.has_images or self.has_tools) and self.prompt_chars <= SIMPLE_PROMPT_CHARS

    @classmethod
    def of(cls, body: dict[str, Any]) -> RequestTraits:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise InvalidInput("messages: must be a non-empty list of chat messages")
        has_images = False
        chars = 0
        last_user = ""
        for message in messages:
            if not isinstance(message, dict):
                raise InvalidInput("messages: every message must be an object with a role and content")
            text, images = _text_and_images(message.get("content"))
            has_images = has_images or images
            chars += len(text)
            if message.get("role") == "user":
                last_user = text
        response_format = body.get("response_format")
        wants_json = isinstance(response_format, dict) and response_format.get("type") in (
            "json_object",
            "json_schema",
        )
        return cls(has_images, bool(body.get("tools")), wants_json, chars, last_user)


def _text_and_images(content: Any) -> tuple[str, bool]:
    """The text of a message's content (a string or a list of parts) and whether it holds an image."""
    if isinstance(content, str):
        return content, False
    if not isinstance(content, list):
        return "", False
    text = ""
    images = False
    for part in content:
        if isinstance(part, dict):
            if part.get("type") in ("image_url", "input_image", "image"):
                images = True
            elif isinstance(part.get("text"), str):
                text += part["text"]
    return text, images


_TASK_SIGNALS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "coding",
        re.compile(
            r"```|\b(def|class|function|stack ?trace|traceback|exception|compile|refactor|bug|regex|sql|python|"
            r"javascript|typescript|rust|golang|java|api|unit tests?|git)\b",
            re.I,
        ),
    ),
    (
        "math",
        re.compile(
            r"\b(solve|equation|integral|derivative|prove|proof|theorem|probability|matrix|calculate)\b|"
            r"\d+\s*[-+*/^]\s*\d+|[=∑∫√]",
            re.I,
        ),
    ),
    (
        "research",
        re.compile(
            r"\b(research|sources?|citations?|cite|literature|studies|compare .* and|market|competitors?|survey)\b",
            re.I,
        ),
    ),
    (
        "creative",
        re.compile(r"\b(poem|story|stories|lyrics|slogan|fiction|creative|imagine|rewrite .* style)\b", re.I),
    ),
    (
        "reasoning",
        re.compile(
            r"\b(why|explain|analy[sz]e|step by step|trade-?offs?|plan|strategy|decide|reason|pros and cons)\b",
            re.I,
        ),
    ),
)


def classify(traits: RequestTraits) -> str:
    """A cheap, deterministic task classifier for `model: auto` (no model call on the request path)."""
    if traits.has_images:
        return "vision"
    if traits.has_tools:
        return "function_calling"
    text = traits.last_user_text[:4000]
    for task, pattern in _TASK_SIGNALS:
        if pattern.search(text):
            return task
    return "speed" if traits.prompt_chars < SIMPLE_PROMPT_CHARS else "reasoning"


@dataclass(frozen=True, slots=True)
class RoutePlan:
    task: str | None
    candidates: tuple[ModelEntry, ...]
    requested: str


def _fits(entry: ModelEntry, traits: RequestTraits) -> bool:
    if traits.has_images and not entry.vision:
        return False
    return not (traits.has_tools and not entry.tools)


class Router:
    """Orders deployments by capability fit, policy (quality / balanced / cost) and live health."""

    def __init__(
        self,
        catalog: Catalog,
        routing: RoutingSettings,
        health: HealthBoard,
        breakers: BreakerBoard,
        quality: QualityBook | None = None,
    ):
        self.catalog = catalog
        self.routing = routing
        self.health = health
        self.breakers = breakers
        self.quality = quality or QualityBook()

    def plan(self, body: dict[str, Any], traits: RequestTraits | None = None) -> RoutePlan:
        requested = body.get("model")
        if not isinstance(requested, str) or not requested:
            raise InvalidInput("model: name a model, a task like 'sophia/coding', or 'auto'")
        traits = traits or RequestTraits.of(body)
        entry = self.catalog.get(requested)
        if entry is not None:
            return RoutePlan(None, (entry,), requested)
        task = requested.removeprefix(TASK_PREFIX)
        if task == AUTO:
            task = classify(traits)
        elif task not in TASKS or not requested.startswith(TASK_PREFIX):
            known = self.catalog.names() + [TASK_PREFIX + t for t in TASKS] + [AUTO]
            raise ModelNotFound(
                f'model "{requested}" is not in the catalog{suggest(requested, known)}; see GET /v1/models'
            )
        return RoutePlan(task, self.order(task, traits), requested)

    def chain(self, task: str) -> list[ModelEntry]:
        """The configured chain for a task, or every routable model in the catalog (synced extras are not)."""
        names = self.routing.chains.get(task)
        if names:
            return [e for n in names if (e := self.catalog.get(n)) is not None]
        return [e for e in self.catalog if e.auto_route]

    def order(self, task: str, traits: RequestTraits) -> tuple[ModelEntry, ...]:
        configured = bool(self.routing.chains.get(task))
        entries = self.chain(task)
        fitting = [e for e in entries if _fits(e, traits)] or entries
        position = {e.name: i for i, e in enumerate(fitting)}

        def key(entry: ModelEntry) -> tuple[float, ...]:
            blocked = 1.0 if self.breakers.get(entry.name).state is BreakerState.OPEN else 0.0
            penalty = self._health_penalty(entry.name)
            if configured:
                # A configured order is the operator's intent; only failing members move down.
                return (blocked, round(penalty, 1), position[entry.name])
            return (blocked, -self._score(entry, task, traits) + penalty, position[entry.name])

        ordered = sorted(fitting, key=key)
        local = self.catalog.get(LOCAL_MODEL)
        if local is not None and local not in ordered:
            ordered.append(local)  # the last resort that needs no key
        return tuple(ordered)

    def _score(self, entry: ModelEntry, task: str, traits: RequestTraits) -> float:
        """Learned quality (a posterior draw for quality/balanced, its mean for cost) traded against price."""
        policy = self.routing.policy
        learned = (
            self.quality.mean(task, entry.name, entry.quality)
            if policy == "cost"
            else self.quality.sample(task, entry.name, entry.quality)
        )
        quality = learned + (0.1 if entry.reasoning and task in ("reasoning", "math") else 0.0)
        price = math.log10(1 + entry.blended_price)
        if entry.name == LOCAL_MODEL:
            return -10.0  # never preferred over a real model; always present as the last resort
        if policy == "quality":
            return quality
        if policy == "cost" or (traits.simple and task == "speed"):
            return -price + 0.01 * quality
        cost_weight = 0.6 if traits.simple else 0.25
        return quality - cost_weight * price

    def _health_penalty(self, name: str) -> float:
        health = self.health.get(name)
        latency_s = (health.latency_ms or 0.0) / 1000
        return 2.0 * health.error_rate + min(latency_s / 30, 0.5)


def check_chains(catalog: Catalog, routing: RoutingSettings) -> list[str]:
    """Problems with chain members, in `sophia config check`'s path format."""
    problems = []
    for task, names in routing.chains.items():
        for i, name in enumerate(names):
            if name not in catalog:
                problems.append(
                    f'routing.chains.{task}[{i}]: unknown model "{name}"{suggest(name, catalog.names())}'
                )
    return problems
