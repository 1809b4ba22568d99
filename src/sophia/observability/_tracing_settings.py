"""The `[tracing]` settings, apart from the OpenTelemetry SDK so reading settings never imports it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["TracingSettings", "tracing_settings"]


class TracingSettings(BaseModel):
    """The `[tracing]` section: which exporter gets the spans (`none` keeps tracing off)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exporter: Literal["none", "console", "otlp"] = "none"
    endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces (for exporter = otlp).",
    )
    service_name: str = Field(default="sophia", min_length=1, max_length=100)


def tracing_settings(settings: Any) -> TracingSettings:
    """`settings.tracing` when the app's settings have that section, else the default (off)."""
    found = getattr(settings, "tracing", None)
    if isinstance(found, TracingSettings):
        return found
    if isinstance(found, BaseModel):
        return TracingSettings.model_validate(found.model_dump())
    return TracingSettings()
