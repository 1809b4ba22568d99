"""Settings of the web dashboard, read from `SOPHIA_WEB__*` variables until they join `sophia.toml`'s schema."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sophia.config import SecretRef


class WebOptions(BaseSettings):
    """Dashboard, session, rate-limit and metrics settings; every default is the safe one."""

    model_config = SettingsConfigDict(env_prefix="SOPHIA_WEB__", extra="ignore", frozen=True)

    allow_signup: bool = Field(default=False, description="Let visitors sign up; they wait as 'pending'.")
    session_hours: float = Field(default=24 * 7, gt=0, description="A session's lifetime without use.")
    secure_cookies: bool | None = Field(
        default=None, description="Force the Secure cookie flag; None sets it when the request is https."
    )
    login_user_failures: int = Field(default=5, ge=1, description="Failed sign-ins per user before lockout.")
    login_ip_failures: int = Field(
        default=20, ge=1, description="Failed sign-ins per address before lockout."
    )
    lockout_seconds: int = Field(default=900, ge=1, description="How long a lockout lasts.")
    requests_per_minute_key: int = Field(default=600, ge=0, description="Per API key; 0 turns it off.")
    requests_per_minute_user: int = Field(default=1200, ge=0, description="Per user; 0 turns it off.")
    redis_url: str | None = Field(default=None, description="Share rate-limit counters between replicas.")
    metrics_token: SecretRef | None = Field(
        default=None, description="A bearer token (as a secret reference) that may read /metrics."
    )
