"""Recruiting match quality: precision@k of `RecruitDesk.match` against a keyword-only baseline, same run.

Roles and resumes come from `bench/recruit_data.py` (seeded, planted matches). k is the number of planted
candidates per role. The baseline ranks resumes by how often the role's words occur in them (term frequency,
the ranking a keyword search gives). Both rank the same candidates in the same memory store.

    .venv/bin/python bench/recruit.py [--seed N] [--roles 6] [--embedder hashing|default]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.recruit_data import RecruitSet, generate_recruiting  # noqa: E402

from sophia.bi import RecruitDesk, parse_candidate, parse_role, terms  # noqa: E402
from sophia.memory import Embedder, HashingEmbedder, MemoryService, default_embedder  # noqa: E402
from sophia.store import Database, upgrade  # noqa: E402


def keyword_rank(role_text: str, resumes: dict[str, str]) -> list[str]:
    """Candidate ids by the count of the role's terms in the resume (ties by id)."""
    wanted = terms(role_text)

    def hits(text: str) -> int:
        counted = Counter(t for line in text.splitlines() for t in terms(line))
        return sum(counted[t] for t in wanted)

    return sorted(resumes, key=lambda c: (-hits(resumes[c]), c))


async def file_all(desk: RecruitDesk, data: RecruitSet) -> None:
    """Every generated role and resume onto the desk."""
    for text in data.roles.values():
        await desk.add_role(parse_role(text))
    for text in data.resumes.values():
        await desk.add_candidate(parse_candidate(text))


def precision_at_k(ranked: list[str], truth: set[str]) -> float:
    k = len(truth)
    return len(set(ranked[:k]) & truth) / k


async def run(data: RecruitSet, embedder: Embedder, home: Path) -> tuple[float, float]:
    url = f"sqlite+aiosqlite:///{home / 'recruit.db'}"
    await upgrade(url)
    database = Database(url)
    service = await MemoryService.open(database, embedder, index_path=home / "vectors.npz")
    try:
        desk = RecruitDesk(service)
        await file_all(desk, data)
        ours, base = [], []
        for role_id, text in data.roles.items():
            truth = data.truth[role_id]
            ranked = [m.candidate_id for m in await desk.match(role_id, k=len(data.resumes))]
            ours.append(precision_at_k(ranked, truth))
            base.append(precision_at_k(keyword_rank(text, data.resumes), truth))
    finally:
        await service.close()
        await database.close()
    return sum(ours) / len(ours), sum(base) / len(base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--roles", type=int, default=6)
    parser.add_argument("--embedder", choices=("hashing", "default"), default="default")
    args = parser.parse_args()
    data = generate_recruiting(args.seed, roles=args.roles)
    embedder = HashingEmbedder(dimensions=384) if args.embedder == "hashing" else default_embedder()
    with tempfile.TemporaryDirectory() as home:
        ours, base = asyncio.run(run(data, embedder, Path(home)))
    k = len(next(iter(data.truth.values())))
    print(f"roles={len(data.roles)} candidates={len(data.resumes)} k={k} embedder={embedder.model_id}")
    print(
        f"precision@k hybrid+coverage={ours:.3f} keyword-only={base:.3f} ratio={ours / base if base else 0:.2f}"
    )
    print(f"recruit: precision_at_k={ours:.3f} keyword_precision_at_k={base:.3f}")


if __name__ == "__main__":
    main()
