"""An embedder whose model is loaded on the first `embed`, so a process that never embeds never holds it.

MiniLM's weights are ~90 MB resident once loaded; `sophia serve` answers model calls, health checks and the
dashboard long before (and often without) anything being remembered or recalled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from sophia.memory._embedding import Embedder


class LazyEmbedder:
    """`model_id` and `dimensions` are known up front (they name the index); the weights come with `load()`."""

    def __init__(self, load: Callable[[], Embedder], *, model_id: str, dimensions: int) -> None:
        self._load = load
        self._model_id = model_id
        self._dimensions = dimensions
        self._loaded: Embedder | None = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def embedder(self) -> Embedder:
        loaded = self._loaded
        if loaded is None:
            with self._lock:  # two first callers on two threads load the model once
                if self._loaded is None:
                    self._loaded = self._load()
                loaded = self._loaded
        return loaded

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return self.embedder().embed(texts)

    def __getattr__(self, name: str) -> object:
        """Anything else a caller asks of the model (`max_seq_length`, …) loads it."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.embedder(), name)


__all__ = ["LazyEmbedder"]
