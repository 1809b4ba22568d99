"""The dashboard's settings are the `[web]` section of `sophia.toml` (`SOPHIA_WEB__*` in the environment)."""

from __future__ import annotations

from sophia.config import WebSettings

WebOptions = WebSettings

__all__ = ["WebOptions"]
