"""Where the database is: the configured URL, which may itself be a secret reference."""

from __future__ import annotations

from sophia.config import SECRET_SCHEMES, Settings

__all__ = ["resolve_database_url"]


def resolve_database_url(settings: Settings) -> str:
    """`settings.database_url`, resolved through `sophia.secrets` when it is `env:`, `secret:` or `file:`."""
    url = settings.database_url
    scheme = url.split(":", 1)[0]
    if scheme not in SECRET_SCHEMES:
        return url
    from sophia.secrets import SecretResolver  # imported late: only needed when the URL is a reference

    return SecretResolver(settings.home, settings.secrets.key_file).resolve(url).strip()
