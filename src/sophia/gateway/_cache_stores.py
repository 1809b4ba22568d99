"""Where cached answers live: a table in the storage database (SQLite/PostgreSQL) or Redis, both with a TTL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

import sqlalchemy as sa

from sophia.gateway._tables import ResponseCacheRow
from sophia.store import Database, utcnow

_PURGE_EVERY = 500  # writes between two deletes of expired rows


class CacheStore(Protocol):
    async def get(self, key: str, tenant: str) -> bytes | None:
        """The live entry under `key` written for `tenant`, None when absent, expired or another tenant's."""

    async def put(self, key: str, tenant: str, stream: bool, body: bytes, ttl: float) -> None: ...

    async def clear(self) -> int:
        """Drop every entry; the number dropped when the store knows it."""

    async def aclose(self) -> None: ...


class DatabaseCacheStore:
    """`response_cache` rows; expired rows are skipped on read and deleted in bulk every few hundred writes."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._table: Any = ResponseCacheRow.__table__
        self._writes = 0

    async def get(self, key: str, tenant: str) -> bytes | None:
        table = self._table
        query = sa.select(table.c.body).where(
            table.c.key == key, table.c.tenant == tenant, table.c.expires_at > utcnow()
        )
        async with self._database.engine.connect() as connection:
            found = (await connection.execute(query)).scalar_one_or_none()
        return bytes(found) if found is not None else None

    async def put(self, key: str, tenant: str, stream: bool, body: bytes, ttl: float) -> None:
        table = self._table
        now = utcnow()
        row = {
            "key": key,
            "tenant": tenant,
            "stream": stream,
            "body": body,
            "expires_at": now + timedelta(seconds=ttl),
        }
        self._writes += 1
        async with self._database.engine.begin() as connection:
            await connection.execute(table.delete().where(table.c.key == key))
            await connection.execute(table.insert().values(row))
            if self._writes % _PURGE_EVERY == 0:
                await connection.execute(table.delete().where(table.c.expires_at <= now))

    async def clear(self) -> int:
        async with self._database.engine.begin() as connection:
            result = await connection.execute(self._table.delete())
        return int(result.rowcount or 0)

    async def aclose(self) -> None:
        return None


class RedisCacheStore:
    """One Redis string per entry with a millisecond TTL, shared by every replica; the body names its tenant."""

    def __init__(self, url: str, prefix: str = "sophia:cache") -> None:
        try:
            import redis.asyncio as aioredis
        except ImportError:  # pragma: no cover - depends on the install
            raise ImportError(
                "the Redis response cache needs the 'redis' extra: pip install 'sophia[redis]'"
            ) from None
        self._redis: Any = aioredis.from_url(url)
        self._prefix = prefix.rstrip(":") + ":"

    async def get(self, key: str, tenant: str) -> bytes | None:
        found = await self._redis.get(self._prefix + key)
        return bytes(found) if found is not None else None  # the tenant is checked in the decoded body

    async def put(self, key: str, tenant: str, stream: bool, body: bytes, ttl: float) -> None:
        await self._redis.set(self._prefix + key, body, px=max(1, int(ttl * 1000)))

    async def clear(self) -> int:
        dropped = 0
        async for name in self._redis.scan_iter(match=self._prefix + "*", count=500):
            dropped += int(await self._redis.delete(name))
        return dropped

    async def aclose(self) -> None:
        await self._redis.aclose()


__all__ = ["CacheStore", "DatabaseCacheStore", "RedisCacheStore"]
