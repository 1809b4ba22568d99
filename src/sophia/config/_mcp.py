"""Settings for MCP: `[[mcp_servers]]` (external servers used as tools) and the HTTP endpoint's limits.

They live in core so `Settings` can hold them; `sophia.mcp` re-exports them.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["McpHttpSettings", "McpServerSettings"]

_SERVER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


class McpServerSettings(BaseModel):
    """One `[[mcp_servers]]` entry: a stdio command or a streamable-HTTP URL whose tools Sophia may call.

    `env` and `headers` values that look like `env:NAME`, `secret:NAME` or `file:/path` are secret references,
    resolved when the connection opens; other values are passed as written.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Prefix of the server's tools in Sophia (`<name>.<tool>`).")
    command: str | None = Field(default=None, description="Program to start for a stdio server.")
    args: list[str] = Field(default_factory=list, description="Arguments of `command`.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment for `command`.")
    cwd: str | None = Field(default=None, description="Working directory of `command`.")
    url: str | None = Field(default=None, description="Streamable-HTTP endpoint of a remote server.")
    headers: dict[str, str] = Field(default_factory=dict, description="HTTP headers for `url`.")
    group: str = Field(default="integrations", description="The Sophia MCP server/tool group they join.")
    timeout_seconds: float = Field(default=30.0, gt=0, le=3600, description="Limit of one tool call.")
    connect_timeout_seconds: float = Field(default=15.0, gt=0, le=600, description="Limit to connect.")
    effects: dict[str, Literal["read", "write", "destroy"]] = Field(
        default_factory=dict,
        description="Per tool (the server's own name): read | write | destroy, overriding its annotations.",
    )
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _SERVER_NAME.match(value):
            raise ValueError(
                "an MCP server name is a lower-case word of letters, digits and _, e.g. 'github'"
            )
        return value

    @field_validator("env")
    @classmethod
    def _check_env(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [name for name in value if not _ENV_NAME.match(name)]
        if bad:
            raise ValueError(f"{bad[0][:40]!r} is not an environment variable name")
        return value

    @field_validator("headers")
    @classmethod
    def _check_headers(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [name for name in value if not _HEADER_NAME.match(name)]
        if bad:
            raise ValueError(f"{bad[0][:40]!r} is not an HTTP header name")
        return value

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSettings:
        if (self.command is None) == (self.url is None):
            raise ValueError(f"mcp server {self.name}: give exactly one of `command` (stdio) or `url` (http)")
        if self.url is not None and (self.args or self.env or self.cwd):
            raise ValueError(f"mcp server {self.name}: args, env and cwd apply to `command`, not `url`")
        if self.command is not None and self.headers:
            raise ValueError(f"mcp server {self.name}: headers apply to `url`, not `command`")
        return self

    @property
    def transport(self) -> str:
        return "stdio" if self.command is not None else "http"

    def describe(self) -> dict[str, Any]:
        """What `sophia mcp list` shows: where the server is, never the values of env or headers."""
        target = self.url if self.url is not None else " ".join([self.command or "", *self.args])
        return {
            "name": self.name,
            "transport": self.transport,
            "target": target,
            "env": sorted(self.env),
            "headers": sorted(self.headers),
        }


class McpHttpSettings(BaseModel):
    """Limits of the streamable-HTTP endpoint under `/mcp/{name}`."""

    model_config = ConfigDict(extra="forbid")

    requests_per_minute: int = Field(
        default=600,
        ge=0,
        description="Requests a minute per API key, counted beside the API's; 0 turns it off.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host headers accepted besides loopback (DNS-rebinding protection), e.g. 'sophia.example:*'.",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origin headers accepted besides loopback, e.g. 'https://app.example'.",
    )
    max_sessions: int = Field(default=1000, ge=1)
    session_idle_seconds: float = Field(default=1800, gt=0)
