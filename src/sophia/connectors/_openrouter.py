"""OpenRouter as a connector: the live model list (prices, context lengths) and the key's credits.

Listing only: refreshing the gateway's catalog (`sophia models sync openrouter`) belongs to the gateway, and this
connector will reuse its parser once it lands instead of writing a second one.
"""

from __future__ import annotations

from typing import Annotated, Any

from sophia.connectors._model import CheckResult, Connector, Credential, action
from sophia.gateway import parse_openrouter

__all__ = ["OpenRouter"]


def _models(body: Any) -> list[dict[str, Any]]:
    """The gateway's parser (the one `sophia models sync openrouter` uses) plus the fields a person reads."""
    rows = {
        m["id"]: m
        for m in (body or {}).get("data", [])
        if isinstance(m, dict) and isinstance(m.get("id"), str)
    }
    found = []
    for synced in parse_openrouter(body or {}):
        row = rows.get(synced.upstream, {})
        found.append(
            {
                "id": synced.upstream,
                "name": row.get("name"),
                "context_length": synced.context_window
                or (row.get("top_provider") or {}).get("context_length"),
                "max_completion_tokens": (row.get("top_provider") or {}).get("max_completion_tokens"),
                "input_usd_per_million": synced.input_price,
                "output_usd_per_million": synced.output_price,
                "modality": (row.get("architecture") or {}).get("modality"),
            }
        )
    return found


class OpenRouter(Connector):
    kind = "openrouter"
    title = "OpenRouter"
    group = "integrations"
    default_base_url = "https://openrouter.ai/api/v1"
    docs_url = "https://openrouter.ai/docs/api-reference"
    credentials = (Credential("token", "an OpenRouter API key (sk-or-v1-…)"),)

    async def check(self) -> CheckResult:
        key = await self.key_info()
        return CheckResult(True, f"key {key['label']}: {key['usage']} USD used", key)

    @action("models.list")
    async def list_models(
        self,
        search: Annotated[
            str | None, "Keep models whose id or name contains this (case-insensitive)."
        ] = None,
        limit: Annotated[int, "How many models at most."] = 100,
    ) -> list[dict[str, Any]]:
        """The models OpenRouter serves now, with USD prices per million tokens and context lengths."""
        body = await self.http.json("GET", "/models")
        models = _models(body)
        if search:
            needle = search.lower()
            models = [m for m in models if needle in f"{m['id']} {m['name']}".lower()]
        return models[: max(1, limit)]

    @action("key.info")
    async def key_info(self) -> dict[str, Any]:
        """The API key's label, spend, limit and what remains of it."""
        data = ((await self.http.json("GET", "/key")) or {}).get("data") or {}
        fields = ("label", "usage", "limit", "limit_remaining", "limit_reset", "is_free_tier", "expires_at")
        return {name: data.get(name) for name in fields}

    @action("credits")
    async def credits(self) -> dict[str, Any]:
        """The account's purchased credits and total usage (USD)."""
        data = ((await self.http.json("GET", "/credits")) or {}).get("data") or {}
        total, used = data.get("total_credits"), data.get("total_usage")
        remaining = total - used if isinstance(total, int | float) and isinstance(used, int | float) else None
        return {"total_credits": total, "total_usage": used, "remaining": remaining}
