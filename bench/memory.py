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
import resource
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory_cv import GRID, KS, Evaluator, Item, cross_validate, median_setting, spread  # noqa: E402

_SPLIT = Path("shared") / "data" / "locomo" / "locomo_dev.json"
# the shared folder sits beside the checkout (or beside the folder of worktrees)
DEFAULT_LOCOMO = next(
    (p / _SPLIT for p in Path(__file__).resolve().parents if (p / _SPLIT).is_file()),
    Path(__file__).resolve().parents[1].parent / _SPLIT,
)
PLAIN = dict(
    rrf_k=60.0,
    keyword_weight=1.0,
    vector_weight=1.0,
    date_boost=0.0,
    session_weight=0.0,
    cosine_weight=0.0,
    coverage_weight=0.0,
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


PLAIN_CONTENT = dict(PLAIN, embed_speaker=False)
# Each tuned stage adds weights to those of the stage before it.
_FUSION = ["rrf_k", "vector_weight"]
_NEIGHBOURS = [*_FUSION, "neighbour_weight"]
_BOOSTS = [*_NEIGHBOURS, "speaker_boost", "temporal_boost"]
_DATES = [*_BOOSTS, "date_boost"]
_SESSIONS = [*_DATES, "session_weight"]
_RERANK = [*_SESSIONS, "cosine_weight", "coverage_weight"]
# label, embedding ("content" or "speaker"), fixed settings, weights tuned by cross-validation
STAGES: list[tuple[str, str, dict[str, Any], list[str]]] = [
    ("keyword only (FTS5 BM25)", "content", dict(PLAIN, vector_weight=0.0), []),
    ("vector only, turn text", "content", dict(PLAIN, keyword_weight=0.0), []),
    ("vector only, 'speaker: turn'", "speaker", dict(PLAIN, keyword_weight=0.0), []),
    ("plain fusion RRF k=60 (baseline)", "content", PLAIN, []),
    ("+ speaker in the embedding", "speaker", PLAIN, []),
    ("+ fusion weights (rrf_k, vector)", "speaker", PLAIN, _FUSION),
    ("+ neighbour turns", "speaker", PLAIN, _NEIGHBOURS),
    ("+ speaker and 'when' boosts", "speaker", PLAIN, _BOOSTS),
    ("+ dates named in the question", "speaker", PLAIN, _DATES),
    ("+ session pooling", "speaker", PLAIN, _SESSIONS),
    ("+ rerank: cosine, term coverage", "speaker", PLAIN, _RERANK),
]
GATHER = MemorySettings(neighbour_weight=0.5)  # both lists and the neighbours are read; ranking varies later


async def _ingested(
    data: list[dict[str, Any]], embedder: Embedder, settings: MemorySettings, home: str
) -> tuple[Database, MemoryService, dict[str, str], list[Question]]:
    url = f"sqlite+aiosqlite:///{home}/bench.db"
    await upgrade(url)
    database = Database(url)
    service = await MemoryService.open(database, embedder, settings=settings)
    dia_of, questions = await ingest_locomo(service, data)
    return database, service, dia_of, questions


async def gather_items(
    data: list[dict[str, Any]], embedder: CachedEmbedder, embed_speaker: bool
) -> tuple[list[Item], dict[str, str]]:
    """Ingest once and gather every question's reads (what the CV re-ranks under each setting)."""
    with tempfile.TemporaryDirectory() as home:
        settings = replace(GATHER, embed_speaker=embed_speaker)
        database, service, dia_of, questions = await _ingested(data, embedder, settings, home)
        vectors = embedder.embed([q.text for q in questions])
        now = datetime.now(UTC)
        items = []
        for question, vector in zip(questions, vectors, strict=True):
            scope = Scope((question.namespace,), None, None, now)
            gathered = await service.gather(question.text, vector, scope, max(KS))
            number = int(question.namespace.rsplit("-", 1)[1])
            items.append(Item(number, question.text, question.evidence, gathered))
        await database.close()
    return items, dia_of


def _line(label: str, scores: Sequence[float], baseline: float | None, extra: str = "") -> str:
    cells = "  ".join(f"@{k} {scores[i]:.3f}" for i, k in enumerate(KS))
    ratio = f"  ({scores[KS.index(10)] / baseline:.2f}x)" if baseline else ""
    return f"{label:<36} {cells}{ratio}{extra}"


async def cross_validated(data: list[dict[str, Any]], embedder: CachedEmbedder) -> MemorySettings:
    """Every stage's held-out score (leave one conversation out); returns the median of the folds' weights."""
    now = datetime.now(UTC)
    evaluators = {}
    for variant in ("content", "speaker"):
        items, dia_of = await gather_items(data, embedder, variant == "speaker")
        evaluators[variant] = Evaluator(items, dia_of, now)
    print(f"# leave-one-conversation-out: {len(data)} folds; weights tuned on the other conversations")
    baseline: float | None = None
    chosen = MemorySettings()
    for label, variant, fixed, tuned in STAGES:
        start = replace(MemorySettings(), **fixed)
        result = cross_validate(evaluators[variant], start, tuned)
        baseline = result.pooled[KS.index(10)] if label.endswith("(baseline)") else baseline
        print(_line(label, result.pooled.tolist(), baseline, "  " + spread(result.per_fold)), flush=True)
        if tuned:
            chosen = median_setting(result.chosen, start, tuned)
    picked = ", ".join(f"{name}={getattr(chosen, name):g}" for name in GRID)
    print(f"# weights, median of the folds' choices: {picked}")
    return chosen


async def quality(path: Path, cache: Path | None, cv: bool) -> float:
    """CV table (unless `cv` is off), then the shipped defaults through the real service; returns recall@10."""
    data = json.loads(path.read_text())
    embedder = CachedEmbedder(MiniLMEmbedder())
    embedder.load(cache)
    print(f"# LoCoMo {path.name}: {len(data)} conversations, model {embedder.model_id}")
    if cv:
        chosen = await cross_validated(data, embedder)
        differs = [n for n in GRID if getattr(chosen, n) != getattr(MemorySettings(), n)]
        if differs:
            print(f"# note: the shipped defaults differ from the folds' median in {', '.join(differs)}")
    runs = [("plain fusion RRF k=60 (baseline)", PLAIN_CONTENT), ("sophia (shipped defaults)", {})]
    baseline: float | None = None
    result = 0.0
    for label, overrides in runs:
        with tempfile.TemporaryDirectory() as home:
            settings = replace(MemorySettings(), **overrides)
            database, service, dia_of, questions = await _ingested(data, embedder, settings, home)
            vectors = embedder.embed([q.text for q in questions])
            scores, latencies = await evaluate(service, dia_of, questions, vectors)
            await database.close()
        baseline = baseline or scores[10]
        p50 = statistics.median(latencies) * 1000
        print(_line(label, [scores[k] for k in KS], baseline, f"  p50 {p50:.1f} ms"), flush=True)
        result = scores[10]
    embedder.save(cache)
    if embedder.computed:
        print(f"# MiniLM embedding rate: {embedder.computed / embedder.seconds:.0f} texts/s")
    return result


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
        f"recall p50 {p50:.1f} ms  p95 {p95:.1f} ms (query embedding excluded)  restart {reopen:.1f} s  "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB"
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
        "--no-ablation",
        "--no-cv",
        dest="no_cv",
        action="store_true",
        help="skip the cross-validated stage table (baseline and shipped defaults only); use on unseen files",
    )
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--postgres", metavar="URL", help="also time speed on PostgreSQL (admin URL; a database is created)"
    )
    parser.add_argument("--embedding-cache", type=Path, help="an .npz to reuse MiniLM vectors across runs")
    args = parser.parse_args(argv)
    recall = None
    if not args.no_quality:
        recall = await quality(args.locomo, args.embedding_cache, not args.no_cv)
    if not args.no_speed:
        texts, queries = _texts(args.locomo)
        await query_embedding_speed(queries)
        for size in (int(s) for s in args.sizes.split(",") if s):
            await speed(size, texts, queries, args.queries)
            if args.postgres:
                await speed(size, texts, queries, args.queries, args.postgres)
    if recall is not None:
        print(f"memory: recall@10={recall:.3f}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
