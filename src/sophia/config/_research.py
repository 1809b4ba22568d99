"""The `[research]` section: which sources a question goes to, each source's endpoint, key and limits, and the
pipeline's depth, concurrency and budgets. Keys are secret references, resolved by `sophia.secrets` at use."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = ["SOURCE_KINDS", "ResearchSettings", "ResearchSourceSettings"]

SOURCE_KINDS = (
    "searxng",
    "news",
    "tavily",
    "exa",
    "brave",
    "serper",
    "perplexity",
    "duckduckgo",
    "arxiv",
    "pubmed",
    "semantic_scholar",
    "github",
    "memory",
    "local",
)


def _check_ref(value: str) -> str:
    head = value.split(":", 1)[0]
    if head not in ("env", "secret", "file", "vault", "esc") or ":" not in value:
        raise ValueError("must be a secret reference such as env:NAME or secret:NAME, never the key itself")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResearchSourceSettings(_Section):
    """`[research.sources.NAME]`: unset fields take the source's documented defaults."""

    base_url: str | None = Field(default=None, description="The API's address (SearXNG: your instance).")
    api_key: Annotated[str, AfterValidator(_check_ref)] | None = None
    requests_per_second: float | None = Field(default=None, ge=0, description="0 turns the limit off.")
    timeout_seconds: float = Field(default=15.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=6)
    path: Path | None = Field(default=None, description="For local: the folder of documents.")
    kind: Literal["repositories", "issues", "code"] = Field(default="repositories", description="For github.")


class ResearchSettings(_Section):
    sources: list[str] = Field(default_factory=lambda: ["memory", "searxng"], description="Asked by default.")
    source: dict[str, ResearchSourceSettings] = Field(
        default_factory=dict, description="Per source: endpoint, key reference, limits."
    )
    depth: Literal["quick", "standard", "deep"] = "standard"
    concurrency: int = Field(default=6, ge=1, le=64, description="Searches and fetches in flight at once.")
    time_budget_seconds: float = Field(default=300.0, gt=0, description="A run stops searching after this.")
    cost_budget_usd: float = Field(
        default=0.5, ge=0, description="Model spend per run; 0 means extractive only."
    )
    mode: Literal["auto", "extractive", "model"] = Field(
        default="auto",
        description="auto: the model writes claims when one other than the bundled one is set.",
    )
    clarify: bool = Field(
        default=False,
        description="Let the model restate the question as one self-contained question before planning.",
    )
    check_claims_with_model: bool = Field(
        default=False,
        description="After the lexical check, ask the model whether each kept claim's quote supports it.",
    )
    remember_findings: bool = Field(default=True, description="Store kept claims as research memories.")
    allow_private_sources: bool = Field(
        default=False,
        description="Let research read pages on private addresses (tools.web applies otherwise).",
    )
