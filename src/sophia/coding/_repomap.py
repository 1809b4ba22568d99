"""The repository map: every source file's symbols, ranked by relevance to the task and cut to a token budget.

Ranking is a personalised PageRank over the reference graph (file A uses a name file B defines: an edge A→B),
started from the files the task's words point at, from memory's hybrid text ranking of each file's outline
against the task (`sophia.memory.rank_texts`: BM25, then vectors when an embedder is given, fused by RRF) and
from the boosts the caller adds. Summaries are cached by the hash of each file's content, so a second map of a large
repository re-parses only what changed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sophia.coding._symbols import FileSummary, python_summary
from sophia.coding._treesitter import language_of, treesitter_summary
from sophia.memory import Embedder, query_terms, rank_texts

__all__ = ["RankedFile", "RepoMap", "SummaryCache", "estimate_tokens", "text_boosts"]

EXTRACTOR_VERSION = "1"
_MAX_FILE_BYTES = 400_000
_MAX_FILES = 5000
_SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".mypy_cache", ".pytest_cache",
     ".ruff_cache", ".tox", "dist", "build", "target", ".eggs", "vendor"}
)  # fmt: skip
_DAMPING = 0.85
_ITERATIONS = 40
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TEXT_TOP = 10
_TEXT_WEIGHT = 2.0


def estimate_tokens(text: str) -> int:
    """About four characters a token: the common estimate for code, without a tokenizer download."""
    return (len(text) + 3) // 4


class SummaryCache:
    """File summaries keyed by content hash: in memory, and on disk when given a folder."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._memory: dict[str, FileSummary] = {}
        self.hits = 0
        self.misses = 0

    def get(self, digest: str) -> FileSummary | None:
        found = self._memory.get(digest)
        if found is None and self.folder is not None:
            path = self.folder / digest[:2] / f"{digest}.json"
            try:
                found = FileSummary.from_record(json.loads(path.read_text()))
            except (OSError, ValueError, KeyError, TypeError):
                found = None
            if found is not None:
                self._memory[digest] = found
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, summary: FileSummary) -> None:
        self._memory[summary.digest] = summary
        if self.folder is not None:
            path = self.folder / summary.digest[:2] / f"{summary.digest}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_text(json.dumps(summary.to_record()))
            temporary.replace(path)


@dataclass(frozen=True, slots=True)
class RankedFile:
    summary: FileSummary
    score: float


def _source_files(root: Path) -> list[str]:
    found: list[str] = []
    for top, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            relative = (Path(top) / name).relative_to(root).as_posix()
            if name.endswith(".py") or language_of(name) is not None:
                found.append(relative)
        if len(found) >= _MAX_FILES:
            break
    return found[:_MAX_FILES]


def _summarise(relative: str, data: bytes, digest: str) -> FileSummary:
    text = data.decode("utf-8", "replace")
    if relative.endswith(".py"):
        return python_summary(relative, text, digest)
    language = language_of(relative) or "text"
    return treesitter_summary(relative, language, text, digest)


class RepoMap:
    """Summaries of one repository checkout; `rank` and `render` make the map a model reads."""

    def __init__(
        self, root: Path, cache: SummaryCache | None = None, *, embedder: Embedder | None = None
    ) -> None:
        self.root = root.resolve()
        self.cache = cache or SummaryCache()
        self.embedder = embedder

    def summaries(self) -> list[FileSummary]:
        out: list[FileSummary] = []
        for relative in _source_files(self.root):
            path = self.root / relative
            if path.is_symlink() or not path.is_file() or path.stat().st_size > _MAX_FILE_BYTES:
                continue
            data = path.read_bytes()
            digest = hashlib.sha256(f"{EXTRACTOR_VERSION}\0{relative}\0".encode() + data).hexdigest()
            summary = self.cache.get(digest)
            if summary is None:
                summary = _summarise(relative, data, digest)
                self.cache.put(summary)
            out.append(summary)
        return out

    def rank(
        self,
        task: str,
        *,
        boosts: Mapping[str, float] | None = None,
        summaries: list[FileSummary] | None = None,
    ) -> list[RankedFile]:
        files = summaries if summaries is not None else self.summaries()
        if not files:
            return []
        start = _task_weights(task, files)
        for path, weight in text_boosts(task, files, self.embedder).items():
            start[path] = start.get(path, 0.0) + weight
        for path, weight in (boosts or {}).items():
            start[path] = start.get(path, 0.0) + weight
        scores = _pagerank(files, start)
        ranked = [RankedFile(f, scores.get(f.path, 0.0)) for f in files]
        ranked.sort(key=lambda r: (-r.score, r.summary.path))
        return ranked

    def render(self, ranked: Iterable[RankedFile], budget_tokens: int) -> str:
        """The best-ranked files' outlines, whole files only, until the budget is spent."""
        parts: list[str] = []
        used = 0
        for item in ranked:
            block = outline(item.summary)
            cost = estimate_tokens(block)
            if used + cost > budget_tokens:
                if parts:
                    continue  # a smaller, lower-ranked file may still fit
                block = block[: budget_tokens * 4]
                cost = estimate_tokens(block)
            parts.append(block)
            used += cost
        return "\n".join(parts)


def outline(summary: FileSummary) -> str:
    lines = [f"{summary.path}:"]
    if summary.error:
        lines.append(f"  ! {summary.error}")
    for symbol in summary.symbols:
        indent = "    " if symbol.parent else "  "
        lines.append(f"{indent}{symbol.line}: {symbol.signature}")
    return "\n".join(lines) + "\n"


def text_boosts(task: str, files: list[FileSummary], embedder: Embedder | None) -> dict[str, float]:
    """The hybrid text ranking of the files' outlines against the task: the top ten, weighted by rank."""
    if not task.strip():
        return {}
    ranked = rank_texts(task, [outline(f) for f in files], embedder=embedder)
    return {files[i].path: _TEXT_WEIGHT / (1 + place) for place, (i, _) in enumerate(ranked[:_TEXT_TOP])}


def _task_weights(task: str, files: list[FileSummary]) -> dict[str, float]:
    """Files whose path or symbol names contain the task's words (snake/camel parts matched too)."""
    terms = set(query_terms(task)) | {w.lower() for w in _WORD.findall(task) if len(w) > 2}
    weights: dict[str, float] = {}
    for summary in files:
        words = set(_parts(summary.path)) | {
            p for s in summary.symbols for p in (*_parts(s.name), s.name.lower())
        }
        hits = len(terms & words)
        if hits:
            weights[summary.path] = float(hits)
    return weights


def _parts(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [p.lower() for p in re.split(r"[^A-Za-z0-9]+", spaced) if len(p) > 1]


def _edges(files: list[FileSummary]) -> dict[str, dict[str, float]]:
    definers: dict[str, list[str]] = defaultdict(list)
    for summary in files:
        for name in summary.defined_names():
            definers[name].append(summary.path)
    edges: dict[str, dict[str, float]] = defaultdict(dict)
    for summary in files:
        for rank_of_name, name in enumerate(summary.references):
            targets = definers.get(name)
            if not targets or name.startswith("__"):
                continue
            weight = 1.0 / (len(targets) * math.sqrt(1 + rank_of_name))
            for target in targets:
                if target != summary.path:
                    edges[summary.path][target] = edges[summary.path].get(target, 0.0) + weight
    return edges


def _pagerank(files: list[FileSummary], start: Mapping[str, float]) -> dict[str, float]:
    paths = [f.path for f in files]
    total_start = sum(start.values())
    base = (
        {p: start.get(p, 0.0) / total_start for p in paths}
        if total_start > 0
        else {p: 1.0 / len(paths) for p in paths}
    )
    edges = _edges(files)
    score = dict(base)
    for _ in range(_ITERATIONS):
        following = {p: (1 - _DAMPING) * base[p] for p in paths}
        dangling = 0.0
        for source in paths:
            out = edges.get(source)
            if not out:
                dangling += score[source]
                continue
            total = sum(out.values())
            for target, weight in out.items():
                following[target] += _DAMPING * score[source] * weight / total
        for p in paths:
            following[p] += _DAMPING * dangling * base[p]
        score = following
    # the files the task names stay on top of the files they merely use
    return {p: score[p] + base[p] for p in paths}
