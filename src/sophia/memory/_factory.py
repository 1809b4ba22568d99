"""`open_memory`: the one place that builds a `MemoryService` from settings, for the server and the CLI."""

from __future__ import annotations

import logging
from pathlib import Path

from sophia.config import Settings
from sophia.memory._cache import RecallCache
from sophia.memory._embedding import Embedder, EmbeddingModelUnavailable, HashingEmbedder
from sophia.memory._model import MemorySettings
from sophia.memory._service import MemoryService
from sophia.memory._vector import VectorIndex
from sophia.store import Database

log = logging.getLogger("sophia.memory")
FALLBACK_DIMENSIONS = 384


def default_embedder() -> Embedder:
    """MiniLM when its package is installed; otherwise the hashing embedder, with a warning (keyword-grade)."""
    try:
        from sophia.memory._minilm import MiniLMEmbedder

        return MiniLMEmbedder()
    except (EmbeddingModelUnavailable, ImportError) as error:
        log.warning("memory falls back to the hashing embedder (recall by meaning is weak): %s", error)
        return HashingEmbedder(dimensions=FALLBACK_DIMENSIONS)


def memory_index_path(settings: Settings, embedder: Embedder) -> Path:
    """One snapshot per embedding model under SOPHIA_HOME, so switching models never reads a stale file."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in embedder.model_id)[:80]
    return Path(settings.home) / "memory" / f"vectors-{safe}.npz"


async def open_memory(
    settings: Settings,
    database: Database,
    *,
    embedder: Embedder | None = None,
    vector_index: VectorIndex | None = None,
    cache: RecallCache | None = None,
    memory_settings: MemorySettings | None = None,
) -> MemoryService:
    """Open (and repair, see `MemoryService.start`) the memory service over `database`."""
    chosen = embedder or default_embedder()
    return await MemoryService.open(
        database,
        chosen,
        vector_index=vector_index,
        cache=cache,
        settings=memory_settings,
        index_path=memory_index_path(settings, chosen),
    )
