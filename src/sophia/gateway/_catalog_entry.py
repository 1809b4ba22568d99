"""One deployable model: what it can do and what it costs."""

from __future__ import annotations

from dataclasses import dataclass


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
    auto_route: bool = True  # a candidate for tasks without a chain; synced extras are only used by name

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """USD for a request at this entry's prices (per 1M tokens)."""
        return (input_tokens * self.input_price + output_tokens * self.output_price) / 1_000_000

    @property
    def blended_price(self) -> float:
        """A single price to compare models by: input and output weighted 3:1, as typical chats are."""
        return (3 * self.input_price + self.output_price) / 4


__all__ = ["ModelEntry"]
