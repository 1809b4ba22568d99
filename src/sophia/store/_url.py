"""Where the database is (the configured URL, which may itself be a secret reference), and opening it."""

from __future__ import annotations

from sophia.config import SECRET_SCHEMES, Settings
from sophia.errors import StorageError
from sophia.store._engine import Database
from sophia.store._migrate import is_up_to_date, upgrade

__all__ = ["open_database", "resolve_database_url"]


def resolve_database_url(settings: Settings) -> str:
    """`settings.database_url`, resolved through `sophia.secrets` when it is `env:`, `secret:` or `file:`."""
    url = settings.database_url
    scheme = url.split(":", 1)[0]
    if scheme not in SECRET_SCHEMES:
        return url
    from sophia.secrets import SecretResolver  # imported late: only needed when the URL is a reference

    return SecretResolver.for_settings(settings).resolve(url).strip()


async def open_database(settings: Settings, *, migrate: bool) -> Database:
    """Open the configured database; bring it to the newest migration when `migrate`, else require it to be there."""
    url = resolve_database_url(settings)
    database = Database(url, echo=settings.storage.echo)
    try:
        await database.ping()
        if migrate:
            await upgrade(url)
        elif not await is_up_to_date(url):
            raise StorageError(
                f"the database at {database.display_url} needs migrations; run `sophia db upgrade`"
            )
    except BaseException:
        await database.close()
        raise
    return database
