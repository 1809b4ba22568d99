"""Memory benchmark: LoCoMo retrieval quality (recall@k of evidence turns) and embedded-backend speed.

    .venv/bin/python bench/memory.py                      # quality on the shared dev split + speed at 10k, 100k
    .venv/bin/python bench/memory.py --locomo PATH        # another file of the same format
    .venv/bin/python bench/memory.py --no-speed           # quality only
    .venv/bin/python bench/memory.py --sizes 10000        # speed at chosen sizes only
    .venv/bin/python bench/memory.py --no-quality --postgres postgresql://postgres@127.0.0.1:5432/postgres

Quality uses the real MiniLM embedder and no LLM. Every ablation line is measured in the same run and printed
with its ratio to the plain BM25 + MiniLM fusion baseline. Speed uses the hashing embedder for the stored rows
(the model's own rate is reported separately) and times recall without the query embedding, which is timed alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sophia.memory import (
    Embedder,
    HashingEmbedder,
    MemoryService,
    MemorySettings,
    MiniLMEmbedder,
    Scope,
    Turn,
)
from sophia.store import Database, upgrade

DEFAULT_LOCOMO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "locomo" / "locomo_dev.json"
KS = (1, 5, 10, 20)
PLAIN = dict(
    rrf_k=60.0,
    neighbour_weight=0.0,
    speaker_boost=0.0,
    temporal_boost=0.0,
    recency_weight=0.0,
    importance_weight=0.0,
    access_weight=0.0,
)


class CachedEmbedder:
    """Wraps an embedder so each distinct text is embedded once per run (ablations re-ingest the same turns)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.cache: dict[str, npt.NDArray[np.float32]] = {}
        self.seconds = 0.0
        self.computed = 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing:
            started = time.perf_counter()
            for text, vector in zip(missing, self.inner.embed(missing), strict=True):
                self.cache[text] = vector
            self.seconds += time.perf_counter() - started
            self.computed += len(missing)
        return np.stack([self.cache[t] for t in texts]).astype(np.float32)

    def load(self, path: Path | None) -> None:
        if path is not None and path.exists():
            with np.load(path, allow_pickle=False) as data:
                if str(data["model"]) == self.model_id:
                    self.cache.update(zip((str(t) for t in data["texts"]), data["vectors"], strict=True))

    def save(self, path: Path | None) -> None:
        if path is not None and self.computed:
            texts = list(self.cache)
            vectors = np.stack([self.cache[t] for t in texts])
            np.savez(
                path, texts=np.array(texts, dtype=np.str_), vectors=vectors, model=np.array(self.model_id)
            )


@dataclass(frozen=True)
class Question:
    namespace: str
    text: str
    evidence: frozenset[str]
    category: int


def _session_date(text: str) -> datetime | None:
    try:
        return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)
    except ValueError:
        return None


async def ingest_locomo(
    service: MemoryService, data: list[dict[str, Any]]
) -> tuple[dict[str, str], list[Question]]:
    """Store every turn; return memory id -> dia_id and the category 1-4 questions."""
    dia_of: dict[str, str] = {}
    questions: list[Question] = []
    for number, item in enumerate(data):
        namespace = f"project:locomo-{number}"
        conversation = item["conversation"]
        sessions = sorted(
            (int(key.split("_")[1]), key)
            for key, value in conversation.items()
            if key.startswith("session_") and isinstance(value, list)
        )
        for _, key in sessions:
            when = _session_date(str(conversation.get(f"{key}_date_time", "")))
            turns = conversation[key]
            ids = await service.ingest_conversation(
                [Turn(speaker=t["speaker"], content=t["text"], occurred_at=when) for t in turns],
                namespace=namespace,
                session_id=key,
                source="locomo",
            )
            dia_of.update({m: f"{number}/{t['dia_id']}" for m, t in zip(ids, turns, strict=True)})
        known = set(dia_of.values())
        for qa in item["qa"]:
            evidence = frozenset(f"{number}/{e}" for e in qa.get("evidence", [])) & known
            if qa.get("category") in (1, 2, 3, 4) and evidence:
                questions.append(Question(namespace, str(qa["question"]), evidence, int(qa["category"])))
    return dia_of, questions


async def evaluate(
    service: MemoryService,
    dia_of: dict[str, str],
    questions: list[Question],
    vectors: npt.NDArray[np.float32],
) -> tuple[dict[int, float], list[float]]:
    totals = dict.fromkeys(KS, 0.0)
    latencies: list[float] = []
    now = datetime.now(UTC)
    for question, vector in zip(questions, vectors, strict=True):
        scope = Scope((question.namespace,), None, None, now)
        started = time.perf_counter()
        hits = await service.recall_with_vector(question.text, vector, scope, max(KS), {})
        latencies.append(time.perf_counter() - started)
        found = [dia_of.get(h.memory.id) for h in hits]
        for k in KS:
            totals[k] += len(question.evidence & set(found[:k])) / len(question.evidence)
    return {k: v / len(questions) for k, v in totals.items()}, latencies


QUALITY_RUNS: list[tuple[str, dict[str, Any]]] = [
    ("keyword", dict(PLAIN, vector_weight=0.0, embed_speaker=False)),
    ("vector", dict(PLAIN, keyword_weight=0.0, embed_speaker=False)),
    ("fusion (baseline)", dict(PLAIN, embed_speaker=False)),
    ("sophia", {}),
    ("  - speaker in embedding", dict(embed_speaker=False)),
    ("  - neighbour turns", dict(neighbour_weight=0.0)),
    ("  - speaker boost", dict(speaker_boost=0.0)),
    ("  - temporal boost", dict(temporal_boost=0.0)),
    ("  - sharp rrf (k=60, not 10)", dict(rrf_k=60.0)),
    ("  + date in embedding", dict(embed_date=True)),
]


async def quality(path: Path, runs: list[tuple[str, dict[str, Any]]], cache: Path | None) -> None:
    data = json.loads(path.read_text())
    embedder = CachedEmbedder(MiniLMEmbedder())
    embedder.load(cache)
    query_vectors: npt.NDArray[np.float32] | None = None
    baseline: dict[int, float] | None = None
    print(f"# LoCoMo {path.name}: {len(data)} conversations, model {embedder.model_id}")
    for label, overrides in runs:
        settings = replace(MemorySettings(), **overrides)
        with tempfile.TemporaryDirectory() as home:
            url = f"sqlite+aiosqlite:///{home}/bench.db"
            await upgrade(url)
            database = Database(url)
            service = await MemoryService.open(database, embedder, settings=settings)
            dia_of, questions = await ingest_locomo(service, data)
            if query_vectors is None:
                query_vectors = embedder.embed([q.text for q in questions])
                print(f"# {len(dia_of)} turns, {len(questions)} questions (categories 1-4)")
            scores, latencies = await evaluate(service, dia_of, questions, query_vectors)
            await database.close()
        baseline = scores if label.startswith("fusion") else baseline
        ratio = f"  ({scores[10] / baseline[10]:.2f}x baseline)" if baseline else ""
        line = "  ".join(f"recall@{k} = {scores[k]:.3f}" for k in KS)
        p50 = statistics.median(latencies) * 1000
        print(f"{label:<28} {line}{ratio}  p50 {p50:.1f} ms", flush=True)
    embedder.save(cache)
    if embedder.computed:
        rate = embedder.computed / embedder.seconds
        print(f"# MiniLM embedding rate: {rate:.0f} texts/s ({embedder.computed} texts)")


async def speed(
    size: int, texts: list[str], queries: list[str], query_count: int, postgres: str | None = None
) -> None:
    """Ingest `size` memories in 500 namespaces and time recall within one namespace and across 10.

    With `postgres` (an admin URL) the rows and the keyword index live in a fresh PostgreSQL database instead
    of SQLite; vectors stay in the embedded index either way.
    """
    with tempfile.TemporaryDirectory() as home:
        if postgres is None:
            url = f"sqlite+aiosqlite:///{home}/speed.db"
            await _speed_at(url, home, size, texts, queries, query_count, "sqlite")
            return
        name = f"sophia_bench_{size}_{random.randrange(1 << 30)}"
        await _pg_admin(postgres, f'CREATE DATABASE "{name}"')
        try:
            url = "postgresql+asyncpg://" + postgres.split("://", 1)[1].rpartition("/")[0] + f"/{name}"
            await _speed_at(url, home, size, texts, queries, query_count, "postgres")
        finally:
            await _pg_admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _pg_admin(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect("postgresql://" + url.split("://", 1)[1])
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _speed_at(
    url: str, home: str, size: int, texts: list[str], queries: list[str], query_count: int, engine: str
) -> None:
    embedder = HashingEmbedder(dimensions=384)
    rng = random.Random(size)
    await upgrade(url)
    database = Database(url)
    service = await MemoryService.open(database, embedder, index_path=Path(home) / "vectors.npz")
    started = time.perf_counter()
    batch = 1000
    for start in range(0, size, batch):
        turns = [
            Turn(speaker="S", content=f"{texts[(start + i) % len(texts)]} #{start + i}")
            for i in range(min(batch, size - start))
        ]
        await service.ingest_conversation(
            turns, namespace=f"user:u{(start // batch) % 500}", session_id=f"s{start}"
        )
    ingest = time.perf_counter() - started
    vectors = embedder.embed(queries[:query_count])
    latencies = []
    now = datetime.now(UTC)
    for text, vector in zip(queries[:query_count], vectors, strict=True):
        namespaces = tuple(f"user:u{rng.randrange(500)}" for _ in range(rng.choice((1, 10))))
        scope = Scope(tuple(sorted(set(namespaces))), None, None, now)
        begun = time.perf_counter()
        await service.recall_with_vector(text, vector, scope, 10, {})
        latencies.append((time.perf_counter() - begun) * 1000)
    started = time.perf_counter()
    await service.close()
    reopened = await MemoryService.open(database, embedder, index_path=Path(home) / "vectors.npz")
    reopen = time.perf_counter() - started
    await reopened.close()
    await database.close()
    latencies.sort()
    p50, p95 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.95)]
    print(
        f"speed {engine:<8} n={size:>7}: ingest {size / ingest:,.0f} memories/s (storage path, hashing embedder)  "
        f"recall p50 {p50:.1f} ms  p95 {p95:.1f} ms (query embedding excluded)  restart {reopen:.1f} s"
    )


def _texts(path: Path) -> tuple[list[str], list[str]]:
    data = json.loads(path.read_text())
    texts = [
        t["text"]
        for item in data
        for k, v in item["conversation"].items()
        if k.startswith("session_") and isinstance(v, list)
        for t in v
    ]
    return texts, [qa["question"] for item in data for qa in item["qa"]]


async def query_embedding_speed(queries: list[str]) -> None:
    model = MiniLMEmbedder()
    model.embed(queries[:4])
    started = time.perf_counter()
    for text in queries[:50]:
        model.embed([text])
    each = (time.perf_counter() - started) / 50 * 1000
    print(f"query embedding (MiniLM, one query at a time): {each:.1f} ms per query")


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--locomo", type=Path, default=DEFAULT_LOCOMO)
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument(
        "--no-ablation", action="store_true", help="only keyword, vector, baseline and sophia"
    )
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--postgres", metavar="URL", help="also time speed on PostgreSQL (admin URL; a database is created)"
    )
    parser.add_argument("--embedding-cache", type=Path, help="an .npz to reuse MiniLM vectors across runs")
    args = parser.parse_args(argv)
    if not args.no_quality:
        await quality(
            args.locomo, QUALITY_RUNS[:4] if args.no_ablation else QUALITY_RUNS, args.embedding_cache
        )
    if not args.no_speed:
        texts, queries = _texts(args.locomo)
        await query_embedding_speed(queries)
        for size in (int(s) for s in args.sizes.split(",") if s):
            await speed(size, texts, queries, args.queries)
            if args.postgres:
                await speed(size, texts, queries, args.queries, args.postgres)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
