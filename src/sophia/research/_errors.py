"""Typed research failures: a missing key names the setting to fill, a failing source says whether to retry."""

from __future__ import annotations

from sophia.errors import ConfigError, InvalidInput, SophiaError
from sophia.observability import redactor

__all__ = [
    "CitationRefused",
    "ResearchError",
    "SourceFailed",
    "SourceKeyMissing",
    "SourceTimeout",
    "UnknownSource",
]


class ResearchError(SophiaError):
    code = "research_error"
    http_status = 502


class SourceKeyMissing(ConfigError):
    """A source that needs an API key has none; the message names the `[research.sources.X]` setting."""

    code = "source_key_missing"
    http_status = 400

    def __init__(self, source: str, setting: str) -> None:
        super().__init__(
            f"research source {source!r} needs an API key: set research.source.{source}.{setting} "
            "to a secret reference (env:NAME or secret:NAME)"
        )
        self.source = source


class UnknownSource(InvalidInput):
    code = "unknown_source"


class SourceFailed(ResearchError):
    """A source answered with an error or garbage; `retryable` and `retry_after` drive the retry policy."""

    code = "source_failed"

    def __init__(
        self,
        message: str,
        *,
        source: str,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(redactor.redact(message))
        self.source = source
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class SourceTimeout(SourceFailed):
    code = "source_timeout"
    http_status = 504

    def __init__(self, source: str, seconds: float) -> None:
        super().__init__(
            f"research source {source!r} did not answer within {seconds:g} s", source=source, retryable=True
        )


class CitationRefused(ResearchError):
    """A model's claim cites something that was never read, or quotes what its passage does not say."""

    code = "citation_refused"
    http_status = 422


class ResearchBudgetSpent(ResearchError):
    """The run's model spend reached `[research] cost_budget_usd`: no further model call is made."""

    code = "research_budget_spent"
    http_status = 402
