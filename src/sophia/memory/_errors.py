"""Typed memory errors: each says what the caller must change; none is raised after a partial write."""

from __future__ import annotations

from sophia.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class InvalidNamespace(PermissionDenied):
    """A namespace is malformed, so no caller can be authorised for it."""

    code = "invalid_namespace"


class InvalidMemory(InvalidInput):
    """Content, kind, importance, times or filters are out of bounds; nothing was written."""

    code = "invalid_memory"


class MemoryNotFound(NotFound):
    code = "memory_not_found"


class EmbeddingMismatch(Conflict):
    """The index holds vectors from another embedding model or size; run `reindex()` first."""

    code = "embedding_mismatch"
