"""The built-in provider kinds beyond openai/anthropic/local: base URL, credentials and wire quirks of each.

Every kind that speaks OpenAI's Chat Completions is an `OpenAICompatibleProvider` with its base URL, its auth
header and at most one small `WireQuirks` hook; only Cohere has its own wire (v2 chat, native). Each is registered
with `register_provider_kind`, exactly as a plugin's kind is.

Gemini goes through Google's OpenAI-compatible endpoint (`/v1beta/openai/`), not native `generateContent`: it
serves chat, streams with usage, tools, JSON mode and images in OpenAI's shapes, so Gemini reuses the tested
OpenAI adapter instead of a third translator; what it cannot carry (safety ratings, grounding metadata) Sophia does
not expose for any provider yet.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace

from sophia.config import ProviderSettings, Settings
from sophia.gateway._provider_kinds import ProviderSpec, register_provider_kind
from sophia.gateway.providers import (
    ChatProvider,
    CohereProvider,
    GeminiQuirks,
    GroqQuirks,
    MistralQuirks,
    OpenAICompatibleProvider,
    OpenRouterQuirks,
    PerplexityQuirks,
    ReasoningQuirks,
    WireQuirks,
)


@dataclass(frozen=True, slots=True)
class KindProfile:
    """Where a kind lives and how it authenticates. `key_env` is read when `api_key` is not set."""

    kind: str
    base_url: str
    key_env: str | None
    key_required: bool = True
    models_path: str | None = "/models"  # relative to the base URL; None: the provider lists no models


PROFILES: dict[str, KindProfile] = {
    p.kind: p
    for p in (
        KindProfile("openai", "https://api.openai.com/v1", "OPENAI_API_KEY"),
        KindProfile("anthropic", "https://api.anthropic.com/v1", "ANTHROPIC_API_KEY"),
        KindProfile("openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
        KindProfile("portkey", "https://api.portkey.ai/v1", "PORTKEY_API_KEY"),
        KindProfile("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
        KindProfile("mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
        KindProfile("deepseek", "https://api.deepseek.com", "DEEPSEEK_API_KEY"),
        KindProfile("xai", "https://api.x.ai/v1", "XAI_API_KEY"),
        KindProfile("together", "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
        KindProfile("cohere", "https://api.cohere.com", "COHERE_API_KEY", models_path="/v1/models"),
        KindProfile("gemini", "https://generativelanguage.googleapis.com/v1beta/openai", "GEMINI_API_KEY"),
        KindProfile("perplexity", "https://api.perplexity.ai", "PERPLEXITY_API_KEY", models_path=None),
        KindProfile("huggingface", "https://router.huggingface.co/v1", "HF_TOKEN"),
        KindProfile("ollama", "http://127.0.0.1:11434/v1", None, key_required=False),
        KindProfile("vllm", "http://127.0.0.1:8000/v1", None, key_required=False),
        KindProfile("llamacpp", "http://127.0.0.1:8080/v1", None, key_required=False),
    )
}


def api_key_ref(provider: ProviderSettings) -> str | None:
    """The reference a provider's key is read from: its `api_key`, else its kind's usual variable when set.

    With neither, the provider is built without a key (its calls answer 401, a clear auth error) and
    `sophia config check` names the variable to set.
    """
    if provider.api_key:
        return provider.api_key
    profile = PROFILES.get(provider.kind)
    if profile is None or profile.key_env is None or not os.environ.get(profile.key_env):
        return None
    if profile.kind == "openai" and provider.base_url:  # kind openai on another URL may need no key
        return None
    return f"env:{profile.key_env}"


def key_problems(settings: Settings) -> list[str]:
    """Providers of a kind that needs a key with none to read: each named with the variable to set."""
    problems: list[str] = []
    for i, provider in enumerate(settings.providers):
        if (
            provider.kind == "portkey"
            and not provider.virtual_key
            and "x-portkey-provider" not in {k.lower() for k in provider.headers}
        ):
            problems.append(
                f'providers[{i}].virtual_key: provider "{provider.name}" (kind portkey) needs the virtual key '
                'of the provider behind it: virtual_key = "env:NAME" or "secret:NAME"'
            )
        profile = PROFILES.get(provider.kind)
        if provider.api_key or profile is None or not profile.key_required or profile.key_env is None:
            continue
        if provider.kind == "openai" and provider.base_url:
            continue
        if not os.environ.get(profile.key_env):
            problems.append(
                f'providers[{i}].api_key: provider "{provider.name}" (kind {provider.kind}) has no API key: '
                f'set {profile.key_env}, or api_key = "env:NAME" / "secret:NAME"'
            )
    return problems


def _openai_wire(
    quirks: Callable[[ProviderSpec], WireQuirks | None],
) -> Callable[[ProviderSpec], ChatProvider]:
    def build(spec: ProviderSpec) -> ChatProvider:
        profile = PROFILES[spec.kind]
        return OpenAICompatibleProvider(
            spec.name,
            spec.base_url or profile.base_url,
            spec.api_key,
            spec.headers,
            spec.timeouts,
            spec.transport,
            quirks=quirks(spec),
        )

    return build


def _openrouter_quirks(spec: ProviderSpec) -> WireQuirks:
    settings = spec.settings
    return OpenRouterQuirks(settings.preferences if settings else None)


def _openrouter(spec: ProviderSpec) -> ChatProvider:
    """Attribution headers are OpenRouter's: `HTTP-Referer` (the app's URL) and `X-Title` (its name)."""
    settings = spec.settings
    headers = dict(spec.headers)
    if settings and settings.app_url:
        headers.setdefault("HTTP-Referer", settings.app_url)
    if settings and settings.app_name:
        headers.setdefault("X-Title", settings.app_name)
    return _openai_wire(_openrouter_quirks)(replace(spec, headers=headers))


def _portkey(spec: ProviderSpec) -> ChatProvider:
    """Portkey's key goes in `x-portkey-api-key` and the team's virtual key in `x-portkey-virtual-key`."""
    secret_headers = {"x-portkey-api-key": spec.api_key} if spec.api_key else {}
    if spec.virtual_key:
        secret_headers["x-portkey-virtual-key"] = spec.virtual_key
    return OpenAICompatibleProvider(
        spec.name,
        spec.base_url or PROFILES["portkey"].base_url,
        None,
        spec.headers,
        spec.timeouts,
        spec.transport,
        secret_headers=secret_headers,
    )


def _cohere(spec: ProviderSpec) -> ChatProvider:
    base_url = spec.base_url or PROFILES["cohere"].base_url
    return CohereProvider(spec.name, base_url, spec.api_key, spec.headers, spec.timeouts, spec.transport)


def _none(spec: ProviderSpec) -> None:
    return None


_QUIRKS: dict[str, Callable[[ProviderSpec], WireQuirks | None]] = {
    "groq": lambda spec: GroqQuirks(),
    "mistral": lambda spec: MistralQuirks(),
    "deepseek": lambda spec: ReasoningQuirks(),
    "xai": lambda spec: ReasoningQuirks(),
    "gemini": lambda spec: GeminiQuirks(),
    "perplexity": lambda spec: PerplexityQuirks(),
    "together": _none,
    "huggingface": _none,
    "ollama": _none,
    "vllm": _none,
    "llamacpp": _none,
}

for _kind, _quirks in _QUIRKS.items():
    register_provider_kind(_kind, _openai_wire(_quirks))
register_provider_kind("openrouter", _openrouter)
register_provider_kind("portkey", _portkey)
register_provider_kind("cohere", _cohere)


__all__ = ["PROFILES", "KindProfile", "api_key_ref", "key_problems"]
