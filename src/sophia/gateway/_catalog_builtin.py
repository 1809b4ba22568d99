"""The built-in catalog: each provider kind's current models with prices, context windows and capabilities.

Prices are USD per 1M tokens from the providers' public price pages (checked 2025-2026; they move: `sophia models
sync PROVIDER` refreshes them from a provider's models endpoint where it publishes prices, and `[[models]]` in
sophia.toml overrides any entry). Names are the upstream ids; with two providers serving one id, the later one's
entry is named `<provider>/<id>`. Self-hosted kinds (ollama, vllm, llamacpp) have no built-in entries: what they
serve is what was pulled or started there, which `sophia models sync` lists.
"""

from __future__ import annotations

from sophia.gateway._catalog_entry import ModelEntry


def _entry(upstream: str, inp: float, out: float, ctx: int, quality: float, **caps: bool) -> ModelEntry:
    return ModelEntry(upstream, "", upstream, inp, out, ctx, quality=quality, **caps)


_ALL = {"tools": True, "json_mode": True}
_SEE = {"tools": True, "json_mode": True, "vision": True}
_THINK = {"tools": True, "json_mode": True, "reasoning": True}

BUILTIN_BY_KIND: dict[str, tuple[ModelEntry, ...]] = {
    "openai": (
        _entry("gpt-4.1", 2.0, 8.0, 1_047_576, 0.85, **_SEE),
        _entry("gpt-4.1-mini", 0.4, 1.6, 1_047_576, 0.7, **_SEE),
        _entry("gpt-4.1-nano", 0.1, 0.4, 1_047_576, 0.5, **_SEE),
        _entry("gpt-4o", 2.5, 10.0, 128_000, 0.8, **_SEE),
        _entry("gpt-4o-mini", 0.15, 0.6, 128_000, 0.6, **_SEE),
        _entry("o4-mini", 1.1, 4.4, 200_000, 0.85, vision=True, **_THINK),
        _entry("o3", 2.0, 8.0, 200_000, 0.95, vision=True, **_THINK),
    ),
    "anthropic": (
        _entry("claude-opus-4-1", 15.0, 75.0, 200_000, 0.97, vision=True, **_THINK),
        _entry("claude-sonnet-4-5", 3.0, 15.0, 200_000, 0.93, vision=True, **_THINK),
        _entry("claude-haiku-4-5", 1.0, 5.0, 200_000, 0.75, **_SEE),
    ),
    "openrouter": (
        _entry("openai/gpt-4o-mini", 0.15, 0.6, 128_000, 0.6, **_SEE),
        _entry("openai/gpt-4.1", 2.0, 8.0, 1_047_576, 0.85, **_SEE),
        _entry("anthropic/claude-sonnet-4.5", 3.0, 15.0, 1_000_000, 0.93, vision=True, **_THINK),
        _entry("google/gemini-2.5-flash", 0.3, 2.5, 1_048_576, 0.78, vision=True, **_THINK),
        _entry("meta-llama/llama-3.3-70b-instruct", 0.13, 0.39, 131_072, 0.62, **_ALL),
        _entry("deepseek/deepseek-chat-v3.1", 0.27, 1.0, 163_840, 0.75, **_ALL),
    ),
    "groq": (
        _entry("llama-3.3-70b-versatile", 0.59, 0.79, 131_072, 0.62, **_ALL),
        _entry("llama-3.1-8b-instant", 0.05, 0.08, 131_072, 0.4, **_ALL),
        _entry("openai/gpt-oss-120b", 0.15, 0.75, 131_072, 0.78, **_THINK),
        _entry("openai/gpt-oss-20b", 0.1, 0.5, 131_072, 0.62, **_THINK),
        _entry("qwen/qwen3-32b", 0.29, 0.59, 131_072, 0.65, **_THINK),
    ),
    "mistral": (
        _entry("mistral-large-latest", 2.0, 6.0, 131_072, 0.8, **_SEE),
        _entry("mistral-medium-latest", 0.4, 2.0, 131_072, 0.75, **_SEE),
        _entry("mistral-small-latest", 0.1, 0.3, 131_072, 0.6, **_SEE),
        _entry("codestral-latest", 0.3, 0.9, 256_000, 0.7, **_ALL),
        _entry("magistral-medium-latest", 2.0, 5.0, 40_000, 0.8, **_THINK),
    ),
    "deepseek": (
        _entry("deepseek-chat", 0.28, 0.42, 128_000, 0.78, **_ALL),
        _entry("deepseek-reasoner", 0.28, 0.42, 128_000, 0.85, **_THINK),
    ),
    "xai": (
        _entry("grok-4", 3.0, 15.0, 256_000, 0.93, vision=True, **_THINK),
        _entry("grok-4-fast-non-reasoning", 0.2, 0.5, 2_000_000, 0.7, **_SEE),
        _entry("grok-4-fast-reasoning", 0.2, 0.5, 2_000_000, 0.8, vision=True, **_THINK),
        _entry("grok-3-mini", 0.3, 0.5, 131_072, 0.7, **_THINK),
        _entry("grok-code-fast-1", 0.2, 1.5, 256_000, 0.75, **_THINK),
    ),
    "together": (
        _entry("meta-llama/Llama-3.3-70B-Instruct-Turbo", 0.88, 0.88, 131_072, 0.62, **_ALL),
        _entry("meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", 0.18, 0.18, 131_072, 0.4, **_ALL),
        _entry("deepseek-ai/DeepSeek-V3", 1.25, 1.25, 131_072, 0.75, **_ALL),
        _entry("Qwen/Qwen2.5-72B-Instruct-Turbo", 1.2, 1.2, 32_768, 0.65, **_ALL),
        _entry("openai/gpt-oss-120b", 0.15, 0.6, 131_072, 0.78, **_THINK),
    ),
    "cohere": (
        _entry("command-a-03-2025", 2.5, 10.0, 256_000, 0.8, **_ALL),
        _entry("command-a-reasoning-08-2025", 2.5, 10.0, 256_000, 0.85, **_THINK),
        _entry("command-a-vision-07-2025", 2.5, 10.0, 128_000, 0.75, vision=True),
        _entry("command-r-plus-08-2024", 2.5, 10.0, 128_000, 0.7, **_ALL),
        _entry("command-r-08-2024", 0.15, 0.6, 128_000, 0.6, **_ALL),
        _entry("command-r7b-12-2024", 0.0375, 0.15, 128_000, 0.45, **_ALL),
    ),
    "gemini": (
        _entry("gemini-2.5-pro", 1.25, 10.0, 1_048_576, 0.92, vision=True, **_THINK),
        _entry("gemini-2.5-flash", 0.3, 2.5, 1_048_576, 0.8, vision=True, **_THINK),
        _entry("gemini-2.5-flash-lite", 0.1, 0.4, 1_048_576, 0.62, **_SEE),
        _entry("gemini-2.0-flash", 0.1, 0.4, 1_048_576, 0.65, **_SEE),
    ),
    "perplexity": (  # search-grounded answers; per-request search fees come on top of token prices
        _entry("sonar", 1.0, 1.0, 127_072, 0.6, json_mode=True),
        _entry("sonar-pro", 3.0, 15.0, 200_000, 0.75, json_mode=True),
        _entry("sonar-reasoning-pro", 2.0, 8.0, 128_000, 0.8, json_mode=True, reasoning=True),
        _entry("sonar-deep-research", 2.0, 8.0, 128_000, 0.85, json_mode=True, reasoning=True),
    ),
    "huggingface": (  # the inference providers router picks a provider; `model:provider` pins one
        _entry("openai/gpt-oss-120b", 0.15, 0.6, 131_072, 0.78, **_THINK),
        _entry("meta-llama/Llama-3.1-8B-Instruct", 0.1, 0.1, 131_072, 0.4, **_ALL),
        _entry("Qwen/Qwen3-Coder-480B-A35B-Instruct", 2.0, 2.0, 262_144, 0.8, **_ALL),
        _entry("deepseek-ai/DeepSeek-V3.1", 0.6, 1.7, 128_000, 0.78, **_ALL),
    ),
}
"""Every kind's built-in models. `portkey` serves the catalog its provider's `catalog = "<kind>"` names."""

__all__ = ["BUILTIN_BY_KIND"]
