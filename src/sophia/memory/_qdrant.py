"""L2 vectors in Qdrant: one collection, scope fields as payload filters. Local mode (`location=":memory:"` or
`path=...`) runs the very same calls as a server URL, so the test suite exercises the production code path.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from sophia.memory._model import Scope
from sophia.memory._vector import F32, VectorEntry

if TYPE_CHECKING:
    from qdrant_client import AsyncQdrantClient

_OPEN_END = 1e18  # "never" on the epoch-seconds axis the range filters use
_BATCH = 256


def point_id(memory_id: str) -> str:
    """Qdrant wants UUIDs; memory ids are UUID hex already, anything else maps through UUID5."""
    try:
        return str(uuid.UUID(hex=memory_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, memory_id))


def _epoch(value: datetime | None) -> float:
    return _OPEN_END if value is None else value.timestamp()


def _models() -> Any:
    try:
        from qdrant_client import models
    except ImportError as error:
        raise ImportError(
            "QdrantVectorIndex needs the `qdrant-client` package: pip install qdrant-client"
        ) from error
    return models


class QdrantVectorIndex:
    """`VectorIndex` over qdrant-client's async API; `len()` is the exact count at `open()` plus our writes."""

    def __init__(
        self, client: AsyncQdrantClient, dimensions: int, *, collection: str = "sophia_memory"
    ) -> None:
        self.client = client
        self.dimensions = dimensions
        self.collection = f"{collection}_{dimensions}"
        self.local = bool(getattr(client, "_client", None).__class__.__name__.startswith("AsyncQdrantLocal"))
        self._count = 0

    @classmethod
    async def open(
        cls,
        dimensions: int,
        *,
        url: str | None = None,
        location: str | None = None,
        path: str | None = None,
        api_key: str | None = None,
        collection: str = "sophia_memory",
    ) -> QdrantVectorIndex:
        """Connect by URL (server) or local mode (`location=":memory:"` / `path`), creating the collection."""
        _models()
        from qdrant_client import AsyncQdrantClient

        client = AsyncQdrantClient(url=url, location=location, path=path, api_key=api_key)
        index = cls(client, dimensions, collection=collection)
        await index.create()
        return index

    async def create(self) -> None:
        models = _models()
        if not await self.client.collection_exists(self.collection):
            await self.client.create_collection(
                self.collection,
                vectors_config=models.VectorParams(size=self.dimensions, distance=models.Distance.COSINE),
            )
            if not self.local:  # local mode has no payload indexes (it warns); a server needs them for speed
                for field in ("namespace", "kind"):
                    await self.client.create_payload_index(
                        self.collection, field, field_schema=models.PayloadSchemaType.KEYWORD
                    )
        self._count = (await self.client.count(self.collection, exact=True)).count

    def __len__(self) -> int:
        return self._count

    async def add(self, entries: Sequence[VectorEntry]) -> None:
        models = _models()
        for start in range(0, len(entries), _BATCH):
            chunk = entries[start : start + _BATCH]
            points = [
                models.PointStruct(
                    id=point_id(e.id),
                    vector=np.asarray(e.vector, dtype=np.float32).tolist(),
                    payload=_payload(e),
                )
                for e in chunk
            ]
            await self.client.upsert(self.collection, points=points, wait=True)
        self._count = (await self.client.count(self.collection, exact=True)).count

    async def close_validity(self, ids: Sequence[str], at: datetime) -> None:
        if ids:
            await self.client.set_payload(
                self.collection,
                payload={"valid_until": at.timestamp()},
                points=[point_id(i) for i in ids],
                wait=True,
            )

    async def remove(self, ids: Sequence[str]) -> None:
        if ids:
            models = _models()
            await self.client.delete(
                self.collection,
                points_selector=models.PointIdsList(points=[point_id(i) for i in ids]),
                wait=True,
            )
            self._count = (await self.client.count(self.collection, exact=True)).count

    async def reset(self, entries: Sequence[VectorEntry]) -> None:
        await self.client.delete_collection(self.collection)
        await self.create()
        await self.add(entries)

    async def search(self, vector: F32, scope: Scope, limit: int) -> list[tuple[str, float]]:
        if limit <= 0:
            return []
        models = _models()
        moment = scope.moment.timestamp()
        must = [
            models.FieldCondition(key="namespace", match=models.MatchAny(any=list(scope.namespaces))),
            models.FieldCondition(key="valid_from", range=models.Range(lte=moment)),
            models.FieldCondition(key="valid_until", range=models.Range(gt=moment)),
            models.FieldCondition(key="expires_at", range=models.Range(gt=scope.now.timestamp())),
        ]
        if scope.kinds is not None:
            must.append(
                models.FieldCondition(key="kind", match=models.MatchAny(any=[k.value for k in scope.kinds]))
            )
        found = await self.client.query_points(
            self.collection,
            query=np.asarray(vector, dtype=np.float32).tolist(),
            query_filter=models.Filter(must=must),
            limit=limit,
            with_payload=["memory_id"],
        )
        return [(str(p.payload["memory_id"]), float(p.score)) for p in found.points if p.payload]

    async def aclose(self) -> None:
        await self.client.close()


def _payload(entry: VectorEntry) -> dict[str, Any]:
    return {
        "memory_id": entry.id,
        "namespace": entry.namespace,
        "kind": entry.kind.value,
        "valid_from": entry.valid_from.timestamp(),
        "valid_until": _epoch(entry.valid_until),
        "expires_at": _epoch(entry.expires_at),
    }
