"""L2 vector index: a Protocol for any backend and the embedded exact NumPy index persisted as a `.npz` file.

Exact search over a float32 matrix is a single matrix-vector product (a few ms at 100k x 384), so the embedded
default needs no approximate index; scope filters (namespaces, kinds, validity window) are boolean masks.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from sophia.memory._model import MemoryKind, Scope

log = logging.getLogger("sophia.memory")

F32 = npt.NDArray[np.float32]
_KINDS = {kind: code for code, kind in enumerate(MemoryKind)}
_THREAD_THRESHOLD = 20_000  # rows above which a search leaves the event loop


@dataclass(frozen=True)
class VectorEntry:
    """A vector with the fields search scopes filter on, so the index never needs a SQL round trip."""

    id: str
    vector: F32
    namespace: str
    kind: MemoryKind
    valid_from: datetime
    valid_until: datetime | None
    expires_at: datetime | None


@runtime_checkable
class VectorIndex(Protocol):
    """What recall needs from a vector store; pgvector or Qdrant implement the same five calls."""

    async def add(self, entries: Sequence[VectorEntry]) -> None:
        """Insert or replace entries by id."""
        ...

    async def close_validity(self, ids: Sequence[str], at: datetime) -> None: ...

    async def remove(self, ids: Sequence[str]) -> None: ...

    async def search(self, vector: F32, scope: Scope, limit: int) -> list[tuple[str, float]]:
        """Best `limit` ids by cosine within `scope`, best first."""
        ...

    async def reset(self, entries: Sequence[VectorEntry]) -> None:
        """Replace the whole index (used by reindex and crash repair)."""
        ...

    def __len__(self) -> int: ...


def _epoch(value: datetime | None, missing: float) -> float:
    return missing if value is None else value.timestamp()


class NumpyVectorIndex:
    """Exact in-process index; `save()` writes an atomic snapshot that `load_snapshot()` reads on start."""

    def __init__(self, dimensions: int, path: Path | None = None, model_id: str = "") -> None:
        self.dimensions = dimensions
        self.path = path
        self.model_id = model_id
        self._lock = threading.Lock()
        self._ns_codes: dict[str, int] = {}
        self._clear(capacity=1024)

    def _clear(self, capacity: int) -> None:
        self._size = 0
        self._ns_count: dict[int, int] = {}
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._matrix = np.zeros((capacity, self.dimensions), dtype=np.float32)
        self._ns = np.zeros(capacity, dtype=np.int32)
        self._kind = np.zeros(capacity, dtype=np.int8)
        self._from = np.zeros(capacity, dtype=np.float64)
        self._until = np.full(capacity, np.inf, dtype=np.float64)
        self._expires = np.full(capacity, np.inf, dtype=np.float64)

    def __len__(self) -> int:
        return self._size

    def __contains__(self, memory_id: object) -> bool:
        return memory_id in self._pos

    def ids(self) -> list[str]:
        return list(self._ids)

    def _grow(self, needed: int) -> None:
        capacity = len(self._matrix)
        if needed <= capacity:
            return
        new = max(needed, capacity * 2)
        self._matrix = np.resize(self._matrix, (new, self.dimensions))
        self._ns = np.resize(self._ns, new)
        self._kind = np.resize(self._kind, new)
        self._from = np.resize(self._from, new)
        self._until = np.resize(self._until, new)
        self._expires = np.resize(self._expires, new)

    def _put(self, entry: VectorEntry) -> None:
        if entry.vector.shape != (self.dimensions,):
            raise ValueError(
                f"vector for {entry.id} has shape {entry.vector.shape}, index wants {self.dimensions}"
            )
        row = self._pos.get(entry.id)
        if row is not None:
            self._count(int(self._ns[row]), -1)
        else:
            row = self._size
            self._grow(row + 1)
            self._ids.append(entry.id)
            self._pos[entry.id] = row
            self._size += 1
        self._matrix[row] = entry.vector
        self._ns[row] = self._ns_codes.setdefault(entry.namespace, len(self._ns_codes))
        self._count(int(self._ns[row]), 1)
        self._kind[row] = _KINDS[entry.kind]
        self._from[row] = entry.valid_from.timestamp()
        self._until[row] = _epoch(entry.valid_until, np.inf)
        self._expires[row] = _epoch(entry.expires_at, np.inf)

    def _count(self, code: int, delta: int) -> None:
        self._ns_count[code] = self._ns_count.get(code, 0) + delta

    async def add(self, entries: Sequence[VectorEntry]) -> None:
        with self._lock:
            self._grow(self._size + len(entries))
            for entry in entries:
                self._put(entry)

    async def close_validity(self, ids: Sequence[str], at: datetime) -> None:
        with self._lock:
            for memory_id in ids:
                row = self._pos.get(memory_id)
                if row is not None:
                    self._until[row] = at.timestamp()

    async def remove(self, ids: Sequence[str]) -> None:
        with self._lock:
            for memory_id in ids:
                row = self._pos.pop(memory_id, None)
                if row is None:
                    continue
                self._count(int(self._ns[row]), -1)
                last = self._size - 1
                if row != last:  # move the last row into the hole so the matrix stays dense
                    moved = self._ids[last]
                    for array in (self._matrix, self._ns, self._kind, self._from, self._until, self._expires):
                        array[row] = array[last]
                    self._ids[row] = moved
                    self._pos[moved] = row
                self._ids.pop()
                self._size = last

    async def reset(self, entries: Sequence[VectorEntry]) -> None:
        with self._lock:
            self._ns_codes = {}
            self._clear(capacity=max(1024, len(entries)))
            for entry in entries:
                self._put(entry)

    async def search(self, vector: F32, scope: Scope, limit: int) -> list[tuple[str, float]]:
        in_scope = sum(self._ns_count.get(self._ns_codes.get(ns, -1), 0) for ns in scope.namespaces)
        if in_scope <= _THREAD_THRESHOLD:
            return self.search_sync(vector, scope, limit)  # a small scope is faster than a thread handoff
        return await asyncio.to_thread(self.search_sync, vector, scope, limit)

    def search_sync(self, vector: F32, scope: Scope, limit: int) -> list[tuple[str, float]]:
        """Score only the rows in scope; a scope spanning most of the index takes one full product instead."""
        query = vector.astype(np.float32, copy=False)
        with self._lock:
            n = self._size
            codes = [self._ns_codes[ns] for ns in scope.namespaces if ns in self._ns_codes]
            if n == 0 or not codes or limit <= 0:
                return []
            allowed = np.zeros(len(self._ns_codes), dtype=np.bool_)
            allowed[codes] = True
            rows = np.flatnonzero(allowed[self._ns[:n]])
            rows = rows[self._valid(rows, scope)]
            if len(rows) == 0:
                return []
            if len(rows) > n // 4:
                scores = (self._matrix[:n] @ query)[rows]
            else:
                scores = self._matrix[rows] @ query
            take = min(limit, len(rows))
            top = np.argpartition(-scores, take - 1)[:take] if take < len(rows) else np.arange(len(rows))
            top = top[np.argsort(-scores[top], kind="stable")]
            return [(self._ids[rows[i]], float(scores[i])) for i in top]

    def _valid(self, rows: npt.NDArray[np.intp], scope: Scope) -> npt.NDArray[np.bool_]:
        moment = scope.moment.timestamp()
        keep: npt.NDArray[np.bool_] = (self._from[rows] <= moment) & (self._until[rows] > moment)
        keep &= self._expires[rows] > scope.now.timestamp()
        if scope.kinds is not None:
            keep &= np.isin(self._kind[rows], [_KINDS[k] for k in scope.kinds])
        return keep

    def save(self) -> None:
        """Write a snapshot atomically (temp file + rename), so a crash leaves the old or the new one."""
        if self.path is None:
            return
        with self._lock:
            ids = np.array(self._ids, dtype=np.str_)
            matrix = self._matrix[: self._size].copy()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(self.path.name + ".tmp")
        with open(temp, "wb") as handle:
            np.savez(handle, ids=ids, matrix=matrix, model=np.array(self.model_id, dtype=np.str_))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.path)

    def load_snapshot(self) -> dict[str, F32]:
        """Vectors by id from the last snapshot; empty if missing, unreadable or of another size."""
        if self.path is None or not self.path.exists():
            return {}
        try:
            with np.load(self.path, allow_pickle=False) as data:
                ids, matrix, model = data["ids"], data["matrix"], str(data["model"])
        except (OSError, ValueError, KeyError) as exc:
            log.warning("vector snapshot %s is unreadable (%s); rebuilding from rows", self.path, exc)
            return {}
        if (
            model != self.model_id
            or matrix.ndim != 2
            or matrix.shape[1] != self.dimensions
            or len(ids) != len(matrix)
        ):
            log.warning("vector snapshot %s is for another model or size; rebuilding from rows", self.path)
            return {}
        return {str(i): matrix[row] for row, i in enumerate(ids)}
