"""The model catalog: what each model can do and what it costs, built-in entries merged with `sophia.toml`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from sophia.config import ModelSettings, Settings

LOCAL_MODEL = "local"


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One deployable model: a provider plus the upstream model name, its capabilities and prices."""

    name: str
    provider: str
    upstream: str
    input_price: float = 0.0
    output_price: float = 0.0
    context_window: int = 8192
    tools: bool = False
    vision: bool = False
    json_mode: bool = False
    reasoning: bool = False
    quality: float = 0.5

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """USD for a request at this entry's prices (per 1M tokens)."""
        return (input_tokens * self.input_price + output_tokens * self.output_price) / 1_000_000

    @property
    def blended_price(self) -> float:
        """A single price to compare models by: input and output weighted 3:1, as typical chats are."""
        return (3 * self.input_price + self.output_price) / 4


def _entry(
    name: str, upstream: str, inp: float, out: float, ctx: int, quality: float, **caps: bool
) -> ModelEntry:
    return ModelEntry(name, "", upstream, inp, out, ctx, quality=quality, **caps)


# Prices in USD per 1M tokens, from the providers' public price pages (late 2025). Overridable in sophia.toml.
_ALL = {"tools": True, "json_mode": True}
BUILTIN_BY_KIND: dict[str, tuple[ModelEntry, ...]] = {
    "openai": (
        _entry("gpt-4.1", "gpt-4.1", 2.0, 8.0, 1_047_576, 0.85, vision=True, **_ALL),
        _entry("gpt-4.1-mini", "gpt-4.1-mini", 0.4, 1.6, 1_047_576, 0.7, vision=True, **_ALL),
        _entry("gpt-4.1-nano", "gpt-4.1-nano", 0.1, 0.4, 1_047_576, 0.5, vision=True, **_ALL),
        _entry("gpt-4o", "gpt-4o", 2.5, 10.0, 128_000, 0.8, vision=True, **_ALL),
        _entry("gpt-4o-mini", "gpt-4o-mini", 0.15, 0.6, 128_000, 0.6, vision=True, **_ALL),
        _entry("o4-mini", "o4-mini", 1.1, 4.4, 200_000, 0.85, vision=True, reasoning=True, **_ALL),
        _entry("o3", "o3", 2.0, 8.0, 200_000, 0.95, vision=True, reasoning=True, **_ALL),
    ),
    "anthropic": (
        _entry(
            "claude-opus-4-1",
            "claude-opus-4-1",
            15.0,
            75.0,
            200_000,
            0.97,
            vision=True,
            reasoning=True,
            **_ALL,
        ),
        _entry(
            "claude-sonnet-4-5",
            "claude-sonnet-4-5",
            3.0,
            15.0,
            200_000,
            0.93,
            vision=True,
            reasoning=True,
            **_ALL,
        ),
        _entry("claude-haiku-4-5", "claude-haiku-4-5", 1.0, 5.0, 200_000, 0.75, vision=True, **_ALL),
    ),
}

LOCAL_ENTRY = ModelEntry(
    name=LOCAL_MODEL,
    provider=LOCAL_MODEL,
    upstream="SmolLM2-135M-Instruct",
    context_window=4096,
    quality=0.1,
)


def _from_settings(model: ModelSettings) -> ModelEntry:
    return ModelEntry(
        name=model.name,
        provider=model.provider,
        upstream=model.model,
        input_price=model.input_price,
        output_price=model.output_price,
        context_window=model.context_window,
        tools=model.tools,
        vision=model.vision,
        json_mode=model.json_mode,
        reasoning=model.reasoning,
        quality=model.quality,
    )


class Catalog:
    """Models by name. Built-in entries appear for each configured provider of a known kind."""

    def __init__(self, entries: Iterable[ModelEntry]) -> None:
        self._entries: dict[str, ModelEntry] = {}
        for entry in entries:
            self._entries[entry.name] = entry

    @classmethod
    def from_settings(cls, settings: Settings, *, local_available: bool = True) -> Catalog:
        entries: list[ModelEntry] = [LOCAL_ENTRY] if local_available else []
        for provider in settings.providers:
            for builtin in BUILTIN_BY_KIND.get(provider.kind, ()):
                # With several providers of one kind, later ones get prefixed names: "<provider>/<model>".
                name = (
                    builtin.name
                    if not any(e.name == builtin.name for e in entries)
                    else (f"{provider.name}/{builtin.name}")
                )
                entries.append(replace(builtin, name=name, provider=provider.name))
        entries.extend(_from_settings(m) for m in settings.models)
        return cls(entries)

    def get(self, name: str) -> ModelEntry | None:
        return self._entries.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[ModelEntry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return list(self._entries)
