"""An experiment's variant: what it changes about a request (model, prompt template, temperature, memory recall).

Written `NAME=SETTING:VALUE[,SETTING:VALUE…]`, e.g. `b=model:fast,temperature:0.2,prompt:terse,recall:graph,k:3`.
`model` answers first (the plan's fallbacks after it); `temperature` replaces the request's; `prompt` names a
template from `[learning.prompts]` whose text is prepended as a system message; `recall` (none, hybrid, graph) and
`k` are read by the chat agent before it recalls memory for the answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sophia.errors import InvalidInput

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
_PROMPT = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
SETTINGS = ("model", "temperature", "prompt", "recall", "k")
RECALL_STRATEGIES = ("none", "hybrid", "graph")
_HINT = "write NAME=SETTING:VALUE[,SETTING:VALUE…] with settings " + ", ".join(SETTINGS)


class InvalidVariant(InvalidInput):
    """A `--variant` that cannot be read: the message names the part that is wrong."""

    code = "invalid_variant"


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    model: str | None = None
    temperature: float | None = None
    prompt: str | None = None
    recall: str | None = None
    k: int | None = None

    @classmethod
    def parse(cls, text: str) -> Variant:
        name, sep, rest = text.strip().partition("=")
        if not sep or not _NAME.match(name) or not rest:
            raise InvalidVariant(f'variant "{text}": {_HINT}, e.g. a=model:fast')
        found: dict[str, str] = {}
        for part in rest.split(","):
            key, colon, value = part.strip().partition(":")
            if not colon or not value.strip():
                raise InvalidVariant(f'variant "{text}": "{part}" is not SETTING:VALUE; {_HINT}')
            if key not in SETTINGS:
                raise InvalidVariant(
                    f'variant "{text}": unknown setting "{key}"; one of {", ".join(SETTINGS)}'
                )
            if key in found:
                raise InvalidVariant(f'variant "{text}": "{key}" is given twice')
            found[key] = value.strip()
        return cls(name, found.get("model"), *_typed(text, found))

    @property
    def settings(self) -> dict[str, Any]:
        """The settings it changes (only those it sets)."""
        values = {key: getattr(self, key) for key in SETTINGS}
        return {key: value for key, value in values.items() if value is not None}

    def __str__(self) -> str:
        parts = (
            f"{key}:{value:g}" if isinstance(value, float) else f"{key}:{value}"
            for key, value in self.settings.items()
        )
        return f"{self.name}=" + ",".join(parts)

    def check_prompts(self, prompts: Mapping[str, str]) -> None:
        if self.prompt is not None and self.prompt not in prompts:
            known = ", ".join(sorted(prompts)) or "none are configured"
            raise InvalidVariant(
                f'variant "{self}": prompt "{self.prompt}" is not one of the learning.prompts ({known})'
            )

    def apply(self, body: dict[str, Any], prompts: Mapping[str, str]) -> dict[str, Any]:
        """The request body this variant sends upstream (a copy when it changes anything; `body` is never changed)."""
        text = prompts.get(self.prompt) if self.prompt is not None else None
        if self.temperature is None and text is None:
            return body
        changed = dict(body)
        if self.temperature is not None:
            changed["temperature"] = self.temperature
        if text is not None:
            changed["messages"] = [{"role": "system", "content": text}, *(body.get("messages") or [])]
        return changed


def _typed(text: str, found: dict[str, str]) -> tuple[float | None, str | None, str | None, int | None]:
    temperature = k = None
    if "temperature" in found:
        try:
            temperature = float(found["temperature"])
        except ValueError:
            temperature = math.nan
        if not 0.0 <= temperature <= 2.0:
            raise InvalidVariant(f'variant "{text}": temperature must be a number from 0 to 2')
    prompt = found.get("prompt")
    if prompt is not None and not _PROMPT.match(prompt):
        raise InvalidVariant(f'variant "{text}": prompt names a template: letters, digits, ".", "_", "-"')
    recall = found.get("recall")
    if recall is not None and recall not in RECALL_STRATEGIES:
        raise InvalidVariant(f'variant "{text}": recall must be one of {", ".join(RECALL_STRATEGIES)}')
    if "k" in found:
        k = int(found["k"]) if found["k"].isdigit() else 0
        if not 1 <= k <= 50:
            raise InvalidVariant(f'variant "{text}": k must be a whole number from 1 to 50')
    return temperature, prompt, recall, k


__all__ = ["RECALL_STRATEGIES", "SETTINGS", "InvalidVariant", "Variant"]
