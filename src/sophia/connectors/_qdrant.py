"""Qdrant as a connector: collections, points (upsert, search, delete) and snapshots, on qdrant-client.

qdrant-client, not the kit's httpx client: it is the project's dependency already (memory's Qdrant index), it is
async, and it has a local mode (`options.location = ":memory:"` or `options.path`) that tests and small installs
run without a server. Its exceptions are wrapped into the kit's typed errors here, and dry runs are answered here
(the kit's HTTP-level dry run never sees these calls): a write or destroy in a dry run returns what it would do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from sophia.connectors._dryrun import DryRunStop, RequestPreview, current_call
from sophia.connectors._errors import (
    ConnectorAuthError,
    ConnectorConflict,
    ConnectorError,
    ConnectorInvalid,
    ConnectorNotFound,
    ConnectorUnavailable,
)
from sophia.connectors._model import CheckResult, Connector, Credential, action
from sophia.tools import SideEffect

if TYPE_CHECKING:
    from qdrant_client import AsyncQdrantClient

__all__ = ["Qdrant", "qdrant_error"]


def qdrant_error(error: Exception) -> ConnectorError:
    """The kit's typed error for a qdrant-client failure (server status, connection failure, local-mode refusal)."""
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

    if isinstance(error, UnexpectedResponse):
        status = error.status_code or 0
        said = error.content.decode("utf-8", "replace")[:200]
        kind: type[ConnectorError] = ConnectorError
        if status in (401, 403):
            kind = ConnectorAuthError
        elif status == 404:
            kind = ConnectorNotFound
        elif status == 409:
            kind = ConnectorConflict
        elif status in (400, 422):
            kind = ConnectorInvalid
        elif status >= 500:
            kind = ConnectorUnavailable
        return kind(f"Qdrant answered {status}: {said}", service="Qdrant", status=status)
    if isinstance(error, ResponseHandlingException):
        return ConnectorUnavailable(
            f"Qdrant could not be reached ({type(error.source).__name__})", service="Qdrant"
        )
    text = str(error)[:200]
    if "not found" in text.lower():
        return ConnectorNotFound(f"Qdrant: {text}", service="Qdrant")
    if "already exists" in text.lower():
        return ConnectorConflict(f"Qdrant: {text}", service="Qdrant")
    return ConnectorInvalid(f"Qdrant refused: {text}", service="Qdrant")


class Qdrant(Connector):
    kind = "qdrant"
    title = "Qdrant"
    group = "infra"
    default_base_url = "http://localhost:6333"
    docs_url = "https://api.qdrant.tech/api-reference"
    credentials = (Credential("api_key", "the API key of a secured server or Qdrant Cloud", required=False),)

    _client: AsyncQdrantClient | None = None

    def client(self) -> AsyncQdrantClient:
        if self._client is None:
            from qdrant_client import AsyncQdrantClient

            location, path = self.options.get("location"), self.options.get("path")
            if location or path:
                self._client = AsyncQdrantClient(location=location, path=path)
            else:
                key = self.credential("api_key") if "api_key" in self.settings.credentials else None
                # No version probe: it runs in a thread at start-up and only warns; `check()` reads the server.
                self._client = AsyncQdrantClient(
                    url=self.http.base_url,
                    api_key=key,
                    timeout=int(self.settings.timeout_seconds),
                    check_compatibility=False,
                )
        return self._client

    async def _run(self, what: str, call: Any) -> Any:
        try:
            return await call
        except ConnectorError:
            raise
        except Exception as error:  # qdrant-client raises its own types, ValueError and httpx errors
            raise qdrant_error(error) from None

    def _dry(self, operation: str, body: dict[str, Any]) -> None:
        scope = current_call()
        if scope is not None and scope.dry_run:
            raise DryRunStop(RequestPreview("QDRANT", f"{self.http.base_url} {operation}", {}, body))

    async def check(self) -> CheckResult:
        names = await self.list_collections()
        return CheckResult(True, f"{len(names)} collections", {"collections": names})

    @action("collections.list")
    async def list_collections(self) -> list[str]:
        """The collections' names."""
        found = await self._run("list", self.client().get_collections())
        return sorted(c.name for c in found.collections)

    @action("collections.create", SideEffect.WRITE)
    async def create_collection(
        self,
        name: Annotated[str, "The collection's name."],
        size: Annotated[int, "The vectors' dimension."],
        distance: Annotated[str, "Cosine, Dot, Euclid or Manhattan."] = "Cosine",
    ) -> dict[str, Any]:
        """Create a collection of vectors of one size."""
        from qdrant_client import models

        self._dry("create_collection", {"name": name, "size": size, "distance": distance})
        if await self._run("exists", self.client().collection_exists(name)):
            raise ConnectorConflict(f"Qdrant: collection {name} already exists", service="Qdrant")
        try:
            params = models.VectorParams(size=size, distance=models.Distance(distance.capitalize()))
        except ValueError as error:
            raise ConnectorInvalid(f"Qdrant: {str(error)[:200]}", service="Qdrant") from None
        await self._run("create", self.client().create_collection(name, vectors_config=params))
        return {"name": name, "created": True}

    @action("collections.delete", SideEffect.DESTROY)
    async def delete_collection(
        self, name: Annotated[str, "The collection to delete with all its points."]
    ) -> dict[str, Any]:
        """Delete a collection and every point in it."""
        self._dry("delete_collection", {"name": name})
        if not await self._run("exists", self.client().collection_exists(name)):
            raise ConnectorNotFound(f"Qdrant: collection {name} not found", service="Qdrant")
        await self._run("delete", self.client().delete_collection(name))
        return {"name": name, "deleted": True}

    @action("points.upsert", SideEffect.WRITE)
    async def upsert(
        self,
        collection: str,
        points: Annotated[
            list[dict[str, Any]], "Each {id (int or UUID), vector (list of floats), payload (object)}."
        ],
    ) -> dict[str, Any]:
        """Insert or replace points."""
        from qdrant_client import models

        self._dry("upsert", {"collection": collection, "points": len(points)})
        try:
            structs = [
                models.PointStruct(id=p["id"], vector=p["vector"], payload=p.get("payload") or {})
                for p in points
            ]
        except (KeyError, ValueError, TypeError) as error:
            raise ConnectorInvalid(
                f"Qdrant: a point needs id and vector ({str(error)[:100]})", service="Qdrant"
            ) from None
        result = await self._run("upsert", self.client().upsert(collection, points=structs, wait=True))
        return {"collection": collection, "upserted": len(structs), "status": str(result.status.value)}

    @action("points.search")
    async def search(
        self,
        collection: str,
        vector: Annotated[list[float], "The query vector."],
        limit: Annotated[int, "How many neighbours."] = 10,
        with_payload: bool = True,
    ) -> list[dict[str, Any]]:
        """The nearest points to a vector, with their scores."""
        found = await self._run(
            "search",
            self.client().query_points(
                collection, query=vector, limit=max(1, min(limit, 1000)), with_payload=with_payload
            ),
        )
        return [{"id": p.id, "score": p.score, "payload": p.payload} for p in found.points]

    @action("points.delete", SideEffect.DESTROY)
    async def delete_points(
        self, collection: str, ids: Annotated[list[int | str], "The points' ids."]
    ) -> dict[str, Any]:
        """Delete points by id."""
        from qdrant_client import models

        self._dry("delete_points", {"collection": collection, "ids": ids})
        await self._run(
            "delete", self.client().delete(collection, models.PointIdsList(points=ids), wait=True)
        )
        return {"collection": collection, "deleted": len(ids)}

    @action("snapshots.create", SideEffect.WRITE)
    async def create_snapshot(self, collection: str) -> dict[str, Any]:
        """Take a snapshot of a collection (a server feature; local mode has none)."""
        self._dry("create_snapshot", {"collection": collection})
        snapshot = await self._run("snapshot", self.client().create_snapshot(collection, wait=True))
        if snapshot is None:
            raise ConnectorInvalid("Qdrant returned no snapshot", service="Qdrant")
        return {"name": snapshot.name, "size": snapshot.size, "created_at": snapshot.creation_time}

    @action("snapshots.list")
    async def list_snapshots(self, collection: str) -> list[dict[str, Any]]:
        """A collection's snapshots."""
        found = await self._run("snapshots", self.client().list_snapshots(collection))
        return [{"name": s.name, "size": s.size, "created_at": s.creation_time} for s in found]

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
        await super().aclose()
