"""`open_memory`: the one place that builds a `MemoryService` from settings, for the server, workers, CLI and MCP.

`[memory]` picks the vector index (NumPy in process, pgvector in the storage database, Qdrant) and the recall
cache (an LRU per process, or Redis shared by every process); URLs that are secret references are resolved here.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sophia.config import MemoryBackendSettings, Settings, memory_problems
from sophia.errors import ConfigError
from sophia.memory._cache import RecallCache
from sophia.memory._embedding import Embedder, EmbeddingModelUnavailable, HashingEmbedder
from sophia.memory._graph_extract import GraphExtractor
from sophia.memory._lazy_embedder import LazyEmbedder
from sophia.memory._learn import FactLearner
from sophia.memory._model import MemorySettings
from sophia.memory._service import MemoryService
from sophia.memory._vector import VectorIndex
from sophia.store import Database

if TYPE_CHECKING:
    from sophia.gateway import Gateway

log = logging.getLogger("sophia.memory")
FALLBACK_DIMENSIONS = 384


def default_embedder() -> Embedder:
    """MiniLM when its package is installed, its weights loaded on the first `embed`; otherwise the hashing
    embedder, with a warning (keyword-grade)."""
    try:
        from sophia.memory._minilm import MiniLMEmbedder, locate_minilm_files

        folder = locate_minilm_files()
        hidden = int(json.loads((folder / "config.json").read_text(encoding="utf-8"))["hidden_size"])
        return LazyEmbedder(
            lambda: MiniLMEmbedder(folder), model_id=MiniLMEmbedder.MODEL_ID, dimensions=hidden
        )
    except (EmbeddingModelUnavailable, ImportError) as error:
        log.warning("memory falls back to the hashing embedder (recall by meaning is weak): %s", error)
        return HashingEmbedder(dimensions=FALLBACK_DIMENSIONS)


def memory_index_path(settings: Settings, embedder: Embedder) -> Path:
    """One snapshot per embedding model under SOPHIA_HOME, so switching models never reads a stale file."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in embedder.model_id)[:80]
    return Path(settings.home) / "memory" / f"vectors-{safe}.npz"


def _resolved(settings: Settings, value: str | None) -> str | None:
    """A setting that may be a secret reference, as its value (registered with the redactor when it is one)."""
    from sophia.secrets import SecretResolver

    return SecretResolver(settings.home, settings.secrets.key_file).setting(value)


async def configured_vector_index(
    settings: Settings, database: Database, dimensions: int
) -> VectorIndex | None:
    """The index `[memory].index` names; None for the embedded NumPy index (the service builds that itself)."""
    memory = settings.memory
    problems = memory_problems(memory, database.url)
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) in the [memory] settings", problems)
    if memory.index == "pgvector":
        from sophia.memory._pgvector import PgVectorIndex

        return await PgVectorIndex.open(database, dimensions, hnsw=memory.pgvector_hnsw)
    if memory.index == "qdrant":
        return await _qdrant(settings, memory, dimensions)
    return None


async def _qdrant(settings: Settings, memory: MemoryBackendSettings, dimensions: int) -> VectorIndex:
    from sophia.memory._qdrant import QdrantVectorIndex

    path = memory.qdrant_path
    if path is not None:
        path = path if path.is_absolute() else Path(settings.home) / path
        path.mkdir(parents=True, exist_ok=True)
    return await QdrantVectorIndex.open(
        dimensions,
        url=_resolved(settings, memory.qdrant_url),
        path=None if path is None else str(path),
        api_key=_resolved(settings, memory.qdrant_api_key),
        collection=memory.qdrant_collection,
    )


def configured_cache(settings: Settings) -> RecallCache | None:
    """The cache `[memory].cache` names; None for the in-process LRU."""
    memory = settings.memory
    if memory.cache != "redis":
        return None
    url = _resolved(settings, memory.redis_url)
    if not url:
        raise ConfigError('memory.redis_url: required when memory.cache = "redis" (e.g. env:REDIS_URL)')
    from sophia.memory._redis_cache import RedisRecallCache

    return RedisRecallCache.from_url(url, prefix=memory.redis_prefix, ttl_seconds=memory.cache_ttl_seconds)


def _graph_extractor(settings: Settings, gateway: Gateway | None) -> GraphExtractor | None:
    """The model extractor when `[memory].graph_model` names one and this process runs a gateway; else the rules."""
    if gateway is None or not settings.memory.graph_model:
        return None
    from sophia.memory._graph_model import gateway_graph_extractor  # the gateway package, only when asked for

    return gateway_graph_extractor(gateway, settings.memory.graph_model)


def _fact_learner(settings: Settings, gateway: Gateway | None) -> FactLearner | None:
    if gateway is None or not settings.memory.facts_model:
        return None
    from sophia.memory._graph_model import gateway_completer

    return FactLearner(gateway_completer(gateway, settings.memory.facts_model))


async def open_memory(
    settings: Settings,
    database: Database,
    *,
    embedder: Embedder | None = None,
    vector_index: VectorIndex | None = None,
    cache: RecallCache | None = None,
    memory_settings: MemorySettings | None = None,
    gateway: Gateway | None = None,
) -> MemoryService:
    """Open (and repair, see `MemoryService.start`) the memory service over `database`, backends from `[memory]`.

    An index or cache passed in wins over the settings (and stays the caller's to close). With a `gateway` and
    `[memory].graph_model`, that model extracts the graph; otherwise the rule extractor does.
    """
    chosen = embedder or default_embedder()
    owned: list[Any] = []
    try:
        if vector_index is None:
            vector_index = await configured_vector_index(settings, database, chosen.dimensions)
            owned.extend([vector_index] if hasattr(vector_index, "aclose") else [])
        if cache is None:
            cache = configured_cache(settings)
            owned.extend([cache] if cache is not None else [])
        service = MemoryService(
            database,
            chosen,
            vector_index=vector_index,
            cache=cache,
            settings=memory_settings or MemorySettings(graph=settings.memory.graph),
            index_path=memory_index_path(settings, chosen),
            graph_extractor=_graph_extractor(settings, gateway),
            fact_learner=_fact_learner(settings, gateway),
        )
        service.resources.extend(owned)
        await service.start()
    except BaseException:
        for resource in reversed(owned):
            await resource.aclose()
        raise
    return service
