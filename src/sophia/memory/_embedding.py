"""What memory needs from an embedding model, and a dependency-free test double for it.

Memory only ever asks for unit-length float32 vectors, so any model — the bundled MiniLM, a gateway-served one or
the hashing double below — fits behind the same small Protocol.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from sophia.errors import ConfigError, SophiaError

__all__ = ["EmbeddingModelUnavailable", "Embedder", "HashingEmbedder"]

_WORD = re.compile(r"\w+", re.UNICODE)


class EmbeddingModelUnavailable(SophiaError, ImportError):
    """The package that ships the local embedding model is not installed (also an ImportError for callers)."""

    code = "embedding_model_unavailable"
    http_status = 503


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text, so a dot product is a cosine."""

    @property
    def model_id(self) -> str:
        """A stable name stored next to every vector, so vectors from different models are never mixed."""
        ...

    @property
    def dimensions(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Return an array of shape `(len(texts), dimensions)`; every row has unit length."""
        ...


class HashingEmbedder:
    """Feature hashing of lower-cased word n-grams: deterministic, instant and good enough for tests.

    Texts that share words land near each other, texts that share none are near orthogonal, and the same text
    always gives the same vector in every process (the hash is BLAKE2b, not Python's salted `hash`).
    """

    def __init__(self, dimensions: int = 256, *, ngram: int = 2) -> None:
        if dimensions < 1 or ngram < 1:
            raise ConfigError(
                f"HashingEmbedder needs dimensions >= 1 and ngram >= 1, not {dimensions} and {ngram}."
            )
        self._dimensions = dimensions
        self._ngram = ngram

    @property
    def model_id(self) -> str:
        return f"hashing/{self._dimensions}d-{self._ngram}gram"

    @property
    def dimensions(self) -> int:
        return self._dimensions

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts; wrap a single text in a list.")
        out = np.zeros((len(texts), self._dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, weight in self._features(text):
                digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
                sign = 1.0 if digest & 1 else -1.0
                out[row, (digest >> 1) % self._dimensions] += sign * weight
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        # A text whose features all cancel out still gets a unit vector, so the Protocol's promise holds.
        out[norms[:, 0] == 0, 0] = 1.0
        norms[norms == 0] = 1.0
        out /= norms
        return out

    def _features(self, text: str) -> list[tuple[str, float]]:
        words = _WORD.findall(text.lower())
        if not words:
            return [("\x00empty", 1.0)]
        features: list[tuple[str, float]] = []
        for n in range(1, self._ngram + 1):
            weight = 1.0 / n
            features.extend((" ".join(words[i : i + n]), weight) for i in range(len(words) - n + 1))
        return features
