"""The `[runs]` section: the run workers' heartbeat, when a silent worker counts as dead, and the sealing key."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sophia.config._refs import SecretRef

__all__ = ["RunsSettings"]


class RunsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    heartbeat_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="How often each run worker writes its heartbeat."
    )
    stale_seconds: float = Field(
        default=30.0,
        gt=0,
        le=86_400,
        description="A worker silent this long is presumed dead and another takes its runs; above 2 heartbeats.",
    )
    seal_key: SecretRef | None = Field(
        default=None,
        description="The key that seals held tool calls (32 bytes as 64 hex characters or base64), as a secret "
        "reference; every replica and worker must share it. Unset: one key file per SOPHIA_HOME (one node).",
    )

    @model_validator(mode="after")
    def _check_timing(self) -> RunsSettings:
        if self.stale_seconds <= 2 * self.heartbeat_seconds:
            raise ValueError(
                f"stale_seconds ({self.stale_seconds:g}) must exceed two heartbeats "
                f"(2 x {self.heartbeat_seconds:g}), or live workers look dead"
            )
        return self
