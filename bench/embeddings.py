"""Sentences per second of the NumPy MiniLM, against sentence-transformers measured in the same run.

    .venv/bin/python bench/embeddings.py                  # NumPy model only
    /tmp/st-venv/bin/python bench/embeddings.py           # both, with the ratio (needs torch there, not here)

The corpus is conversational turns from LoCoMo (shared/data/locomo), the kind of text memory stores most.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(
    0, str(ROOT / "src")
)  # lets the sentence-transformers venv import Sophia without installing it

from sophia.memory._minilm import MiniLMEmbedder, locate_minilm_files  # noqa: E402

LOCOMO = "shared/data/locomo/locomo_dev.json"
LOCOMO_CANDIDATES = (ROOT.parent / LOCOMO, Path("/work") / LOCOMO)
FALLBACK = [
    "I went to a support group yesterday and it was so powerful.",
    "We finally booked the trip to Lisbon for the second week of June, the kids are thrilled.",
    "The deploy failed again because the health check timed out after thirty seconds.",
    "My grandmother's apple pie recipe uses cinnamon, nutmeg and a pinch of salt, and I still bake it every fall.",
]


def load_corpus(count: int, min_words: int, max_words: int) -> list[str]:
    turns: list[str] = []
    for path in LOCOMO_CANDIDATES:
        if path.is_file():
            for item in json.loads(path.read_text(encoding="utf-8")):
                for key, session in item["conversation"].items():
                    if key.startswith("session_") and isinstance(session, list):
                        turns.extend(turn["text"] for turn in session)
            break
    pool = [t for t in turns if min_words <= len(t.split()) <= max_words] or FALLBACK
    return [pool[i % len(pool)] for i in range(count)]


def rate(embed: Callable[[Sequence[str]], Any], corpus: list[str], repeats: int) -> float:
    embed(corpus[:64])  # warm-up: first BLAS calls, allocator, lazy init
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        embed(corpus)
        best = max(best, len(corpus) / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=512, help="sentences per timed pass")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes; the best is reported")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--min-words", type=int, default=10)
    parser.add_argument("--max-words", type=int, default=40)
    args = parser.parse_args()

    corpus = load_corpus(args.count, args.min_words, args.max_words)
    words = np.mean([len(t.split()) for t in corpus])
    print(f"corpus: {len(corpus)} sentences, {words:.1f} words on average")

    numpy_model = MiniLMEmbedder(batch_size=args.batch_size)
    ours = rate(numpy_model.embed, corpus, args.repeats)
    print(f"numpy MiniLM            {ours:8.1f} sentences/s")

    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError:
        print("sentence-transformers not importable here; run with /tmp/st-venv/bin/python for the ratio")
        return
    st_model = SentenceTransformer(str(locate_minilm_files()), device="cpu")

    def st_embed(texts: Sequence[str]) -> Any:
        return st_model.encode(list(texts), batch_size=args.batch_size, normalize_embeddings=True)

    theirs = rate(st_embed, corpus, args.repeats)
    agreement = float(np.min(np.sum(numpy_model.embed(corpus[:64]) * st_embed(corpus[:64]), axis=1)))
    print(
        f"sentence-transformers   {theirs:8.1f} sentences/s  (torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads)"
    )
    print(
        f"ratio numpy / sentence-transformers: {ours / theirs:.2f}x; min cosine between them {agreement:.6f}"
    )


if __name__ == "__main__":
    main()
