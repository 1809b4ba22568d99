"""Memory graph benchmark: what the rule extractor costs at write time and graph expansion at recall time.

    .venv/bin/python bench/memory_graph.py                 # the shared LoCoMo dev split, SQLite
    .venv/bin/python bench/memory_graph.py --locomo PATH

Ingests every turn twice into fresh SQLite files, once with `graph = False` (the baseline) and once with the rule
extractor on, and prints the ingest rate ratio; then times recall with and without `expand_graph` on the questions
(hashing embedder, so the embedding model's time does not hide the difference) and prints the p95 ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from bench.memory import DEFAULT_LOCOMO, Question, ingest_locomo

from sophia.memory import HashingEmbedder, MemoryService, MemorySettings
from sophia.store import Database, upgrade


async def _run(
    data: list[dict[str, object]], graph: bool, home: Path
) -> tuple[float, list[float], list[float], dict[str, int]]:
    url = f"sqlite+aiosqlite:///{home / ('graph' if graph else 'plain')}.db"
    await upgrade(url)
    database = Database(url)
    service = await MemoryService.open(
        database,
        HashingEmbedder(dimensions=384),
        settings=MemorySettings(graph=graph),
        index_path=home / f"{graph}.npz",
    )
    try:
        started = time.perf_counter()
        _, questions = await ingest_locomo(service, data)  # type: ignore[arg-type]
        ingest = time.perf_counter() - started
        plain, expanded = await _latencies(service, questions)
        async with database.engine.connect() as conn:
            counts = {
                t: int((await conn.execute(sa.text(f"SELECT count(*) FROM {t}"))).scalar_one())
                for t in ("memories", "memory_entities", "memory_mentions", "memory_edges")
            }
    finally:
        await service.close()
        await database.close()
    return ingest, plain, expanded, counts


async def _latencies(service: MemoryService, questions: list[Question]) -> tuple[list[float], list[float]]:
    plain: list[float] = []
    expanded: list[float] = []
    for question in questions[:300]:
        for flag, into in ((False, plain), (True, expanded)):
            begun = time.perf_counter()
            await service.recall(question.text, question.namespace, k=10, expand_graph=flag)
            into.append((time.perf_counter() - begun) * 1000)
    return sorted(plain), sorted(expanded)


def _p95(values: list[float]) -> float:
    return values[int(len(values) * 0.95)] if values else 0.0


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--locomo", type=Path, default=DEFAULT_LOCOMO)
    args = parser.parse_args(argv)
    data = json.loads(args.locomo.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        base, _, _, base_counts = await _run(data, False, Path(tmp))
        ingest, plain, expanded, counts = await _run(data, True, Path(tmp))
    rows = base_counts["memories"]
    print(
        f"ingest {rows} turns: graph off {rows / base:,.0f}/s, rules on {rows / ingest:,.0f}/s, "
        f"ratio {ingest / base:.2f}x the time"
    )
    print(
        f"graph: {counts['memory_entities']} entities, {counts['memory_mentions']} mentions, "
        f"{counts['memory_edges']} edges"
    )
    print(
        f"recall p95 (hashing embedder, embedding included): plain {_p95(plain):.1f} ms, expand_graph "
        f"{_p95(expanded):.1f} ms, ratio {_p95(expanded) / max(_p95(plain), 1e-9):.2f}x"
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
