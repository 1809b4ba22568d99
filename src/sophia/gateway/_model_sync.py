"""`sophia models sync PROVIDER`: read a provider's models endpoint and keep what it says as a synced catalog.

Each kind's endpoint has its own shape: OpenRouter's carries prices per token, context and supported parameters;
Hugging Face's router lists each model's inference providers with prices per 1M tokens; Together answers a bare
list with prices; Mistral and Cohere say what each model can do; the rest (Groq, DeepSeek, xAI, Gemini, Ollama,
vLLM, llama.cpp) list ids and sometimes a context window. What an endpoint does not say keeps its built-in value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx
import orjson

from sophia.config import ProviderSettings, Settings
from sophia.errors import ConfigError, SophiaError
from sophia.gateway._builtin_kinds import PROFILES, api_key_ref
from sophia.gateway._errors import ProviderProtocolError, error_from_status
from sophia.gateway._synced_catalog import SyncedModel, write_synced
from sophia.gateway.wire.anthropic import ANTHROPIC_VERSION
from sophia.secrets import SecretResolver, is_secret_ref

Parser = Callable[[Any], list[SyncedModel]]


def _price(value: Any, scale: float = 1.0) -> float | None:
    try:
        price = float(value) * scale
    except (TypeError, ValueError):
        return None
    return round(price, 6) if price >= 0 else None  # OpenRouter marks variable prices (its router) as -1


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def _rows(payload: Any, key: str = "data") -> Iterable[Mapping[str, Any]]:
    rows = payload.get(key) if isinstance(payload, Mapping) else payload
    if not isinstance(rows, list):
        raise ProviderProtocolError(f"the models endpoint answered without a `{key}` list", provider="sync")
    return (
        row for row in rows if isinstance(row, Mapping) and isinstance(row.get("id", row.get("name")), str)
    )


def parse_openrouter(payload: Any) -> list[SyncedModel]:
    models = []
    for row in _rows(payload):
        pricing = row.get("pricing") or {}
        params = set(row.get("supported_parameters") or ())
        modalities = set((row.get("architecture") or {}).get("input_modalities") or ())
        models.append(
            SyncedModel(
                upstream=row["id"],
                input_price=_price(pricing.get("prompt"), 1_000_000),
                output_price=_price(pricing.get("completion"), 1_000_000),
                context_window=_int(row.get("context_length")),
                tools="tools" in params,
                vision="image" in modalities,
                json_mode=bool(params & {"response_format", "structured_outputs"}),
                reasoning="reasoning" in params,
            )
        )
    return models


def parse_huggingface(payload: Any) -> list[SyncedModel]:
    """The router's price is the cheapest live provider's; tools and JSON when any live provider has them."""
    models = []
    for row in _rows(payload):
        live = [p for p in row.get("providers") or () if isinstance(p, Mapping) and p.get("status") == "live"]
        priced = [p for p in live if isinstance(p.get("pricing"), Mapping)]
        cheapest = min(priced, key=lambda p: _price(p["pricing"].get("input")) or 0.0, default=None)
        pricing = cheapest["pricing"] if cheapest else {}
        contexts = [c for p in live if (c := _int(p.get("context_length")))]
        models.append(
            SyncedModel(
                upstream=row["id"],
                input_price=_price(pricing.get("input")),
                output_price=_price(pricing.get("output")),
                context_window=max(contexts) if contexts else None,
                tools=any(p.get("supports_tools") for p in live) if live else None,
                json_mode=any(p.get("supports_structured_output") for p in live) if live else None,
            )
        )
    return models


def parse_together(payload: Any) -> list[SyncedModel]:
    return [
        SyncedModel(
            upstream=row["id"],
            input_price=_price((row.get("pricing") or {}).get("input")),
            output_price=_price((row.get("pricing") or {}).get("output")),
            context_window=_int(row.get("context_length")),
        )
        for row in _rows(payload)
        if row.get("type") in (None, "chat", "language", "code")
    ]


def parse_mistral(payload: Any) -> list[SyncedModel]:
    models = []
    for row in _rows(payload):
        caps = row.get("capabilities") or {}
        if caps and not caps.get("completion_chat"):
            continue  # embedding, moderation and OCR models
        models.append(
            SyncedModel(
                upstream=row["id"],
                context_window=_int(row.get("max_context_length")),
                tools=caps.get("function_calling"),
                vision=caps.get("vision"),
            )
        )
    return models


def parse_cohere(payload: Any) -> list[SyncedModel]:
    return [
        SyncedModel(
            upstream=row["name"],
            context_window=_int(row.get("context_length")),
            tools="tools" in (row.get("features") or ()) or None,
            json_mode="json_mode" in (row.get("features") or ()) or None,
            vision="vision" in (row.get("features") or ()) or None,
        )
        for row in _rows(payload, "models")
        if "chat" in (row.get("endpoints") or ())
    ]


def parse_listing(payload: Any) -> list[SyncedModel]:
    """OpenAI's `{"data": [{"id": ...}]}`, with a context window where the server names one."""
    models = []
    for row in _rows(payload):
        meta: Mapping[str, Any] = row["meta"] if isinstance(row.get("meta"), Mapping) else {}
        context = row.get("context_window") or row.get("context_length") or row.get("max_model_len")
        upstream = str(row["id"]).removeprefix("models/")  # Gemini's ids are `models/<name>`
        models.append(SyncedModel(upstream=upstream, context_window=_int(context or meta.get("n_ctx_train"))))
    return models


PARSERS: dict[str, Parser] = {
    "openrouter": parse_openrouter,
    "huggingface": parse_huggingface,
    "together": parse_together,
    "mistral": parse_mistral,
    "cohere": parse_cohere,
}


def _auth_headers(provider: ProviderSettings, resolver: SecretResolver) -> dict[str, str]:
    key_ref = api_key_ref(provider)
    key = resolver.resolve(key_ref) if key_ref else None
    headers = {k: (resolver.resolve(v) if is_secret_ref(v) else v) for k, v in provider.headers.items()}
    if provider.kind == "portkey":
        if key:
            headers["x-portkey-api-key"] = key
        if provider.virtual_key:
            headers["x-portkey-virtual-key"] = resolver.resolve(provider.virtual_key)
    elif provider.kind == "anthropic":
        headers.update({"anthropic-version": ANTHROPIC_VERSION, **({"x-api-key": key} if key else {})})
    elif key:
        headers["authorization"] = f"Bearer {key}"
    return headers


async def sync_models(
    settings: Settings, name: str, *, transport: httpx.AsyncBaseTransport | None = None
) -> tuple[Path, list[SyncedModel]]:
    """Fetch, parse and store the catalog of the provider called `name`; returns the file and the models."""
    provider = next((p for p in settings.providers if p.name == name), None)
    if provider is None:
        known = ", ".join(p.name for p in settings.providers) or "none"
        raise ConfigError(f'no provider named "{name}" in the settings (providers: {known})')
    profile = PROFILES.get(provider.kind)
    if profile is None or profile.models_path is None:
        raise ConfigError(
            f'provider "{name}" (kind {provider.kind}) has no models endpoint to sync from; '
            "its built-in catalog and [[models]] entries are used"
        )
    resolver = SecretResolver.for_settings(settings)
    headers = _auth_headers(provider, resolver)
    base = (provider.base_url or profile.base_url).rstrip("/")
    url = (base.removesuffix("/v1") if provider.kind == "cohere" else base) + profile.models_path
    params = {"page_size": "1000", "endpoint": "chat"} if provider.kind == "cohere" else None
    async with httpx.AsyncClient(transport=transport, timeout=provider.total_timeout) as client:
        try:
            response = await client.get(url, headers=headers, params=params)
        except httpx.HTTPError as error:
            kind = type(error).__name__
            raise SophiaError(f'provider "{name}" could not be reached at {url} ({kind})') from None
    if response.status_code >= 400:
        raise error_from_status(name, response.status_code, headers=response.headers, body=response.content)
    try:
        payload = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise ProviderProtocolError(
            f"Provider '{name}' answered its models endpoint with something that is not JSON.", provider=name
        ) from None
    models = PARSERS.get(provider.kind, parse_listing)(payload)
    return write_synced(settings.home, name, provider.kind, models), models


__all__ = ["PARSERS", "parse_listing", "sync_models"]
