"""The Embedder protocol's promises, pinned on the HashingEmbedder test double other layers rely on."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sophia.errors import ConfigError
from sophia.memory._embedding import Embedder, HashingEmbedder


@given(texts=st.lists(st.text(max_size=80), max_size=8), dimensions=st.integers(1, 64))
@settings(max_examples=60, deadline=None)
def test_hashing_returns_one_unit_float32_row_per_text(texts: list[str], dimensions: int) -> None:
    vectors = HashingEmbedder(dimensions).embed(texts)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(texts), dimensions)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_hashing_texts_sharing_words_are_nearer_than_unrelated_texts() -> None:
    query, related, unrelated = HashingEmbedder().embed(
        [
            "the deploy to fly failed on the health check",
            "why did the fly deploy fail its health check",
            "grandma bakes apple pie with cinnamon",
        ]
    )
    assert float(query @ related) > 0.3
    assert float(query @ related) > float(query @ unrelated) + 0.2


def test_hashing_ignores_case_and_punctuation() -> None:
    a, b = HashingEmbedder().embed(["Hello, World!", "hello world"])
    np.testing.assert_allclose(a, b)


def test_hashing_is_deterministic_across_instances_and_processes() -> None:
    first = HashingEmbedder(256).embed(["remember the milk"])
    np.testing.assert_array_equal(first, HashingEmbedder(256).embed(["remember the milk"]))
    # Pinned values: Python's salted hash() would change these from one process to the next.
    nonzero = {int(i): round(float(first[0, i]), 4) for i in np.flatnonzero(first[0])}
    assert nonzero == PINNED_REMEMBER_THE_MILK


# Three words (weight 1) and two bigrams (weight 1/2), each in its own signed bucket.
PINNED_REMEMBER_THE_MILK = {28: 0.5345, 47: -0.5345, 48: -0.2673, 112: 0.2673, 230: 0.5345}


def test_hashing_texts_without_words_get_the_same_unit_vector() -> None:
    vectors = HashingEmbedder(16).embed(["", "   ", "?!"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0)
    np.testing.assert_array_equal(vectors[0], vectors[1])
    np.testing.assert_array_equal(vectors[0], vectors[2])


def test_hashing_model_id_changes_with_its_configuration() -> None:
    ids = {HashingEmbedder(64).model_id, HashingEmbedder(128).model_id, HashingEmbedder(64, ngram=1).model_id}
    assert len(ids) == 3


def test_hashing_embedder_satisfies_the_embedder_protocol() -> None:
    embedder: Embedder = HashingEmbedder(8)
    assert isinstance(embedder, Embedder)
    assert embedder.dimensions == 8


def test_hashing_rejects_a_bare_string_instead_of_a_list() -> None:
    with pytest.raises(TypeError, match="sequence of texts"):
        HashingEmbedder().embed("one text")


@pytest.mark.parametrize(("dimensions", "ngram"), [(0, 2), (16, 0)])
def test_hashing_rejects_impossible_configuration(dimensions: int, ngram: int) -> None:
    with pytest.raises(ConfigError, match="dimensions >= 1"):
        HashingEmbedder(dimensions, ngram=ngram)


def test_hashing_empty_batch_gives_empty_matrix() -> None:
    assert HashingEmbedder(12).embed([]).shape == (0, 12)
