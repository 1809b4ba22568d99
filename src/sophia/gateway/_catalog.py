"""The model catalog: what each model can do and what it costs, built-in entries merged with `sophia.toml`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from sophia.config import ModelSettings, ProviderSettings, Settings
from sophia.gateway._catalog_builtin import BUILTIN_BY_KIND
from sophia.gateway._catalog_entry import ModelEntry
from sophia.gateway._synced_catalog import SyncedModel, read_synced

LOCAL_MODEL = "local"


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


def provider_entries(provider: ProviderSettings, synced: list[SyncedModel] | None) -> list[ModelEntry]:
    """A provider's built-in entries, refreshed by its synced catalog (`sophia models sync`) when there is one.

    A synced model that is also built in updates that entry's prices, context and capabilities; the others are
    added under `<provider>/<id>`, usable by name but not routed to by default (an OpenRouter sync brings
    hundreds). For a kind without built-in entries (ollama, vllm, llamacpp) every synced model is routable.
    """
    builtins = BUILTIN_BY_KIND.get(provider.catalog or provider.kind, ())
    fresh = {model.upstream: model for model in synced or ()}
    entries = [
        fresh.pop(b.upstream).applied_to(replace(b, provider=provider.name))
        if b.upstream in fresh
        else replace(b, provider=provider.name)
        for b in builtins
    ]
    routable = not builtins
    for model in fresh.values():
        base = ModelEntry(
            model.upstream if routable else f"{provider.name}/{model.upstream}",
            provider.name,
            model.upstream,
            auto_route=routable,
        )
        entries.append(model.applied_to(base))
    return entries


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
            for entry in provider_entries(provider, read_synced(settings.home, provider.name)):
                # With several providers serving one name, later ones get prefixed names: "<provider>/<model>".
                taken = any(e.name == entry.name for e in entries)
                entries.append(replace(entry, name=f"{provider.name}/{entry.name}") if taken else entry)
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


__all__ = ["BUILTIN_BY_KIND", "LOCAL_ENTRY", "LOCAL_MODEL", "Catalog", "ModelEntry", "provider_entries"]
