"""The repository map on real files: symbols from `ast` and tree-sitter, ranking by references and by memory's
hybrid text ranking, the token budget, and the summary cache by content hash (in memory and on disk)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sophia.coding import RepoMap, SummaryCache, estimate_tokens
from sophia.coding._repomap import text_boosts
from sophia.memory import HashingEmbedder

FILES = {
    "timeparse.py": "def parse_duration(text: str) -> int:\n    return int(text)\n",
    "jobs.py": (
        "from timeparse import parse_duration\n\n\nclass Scheduler:\n"
        "    def every(self, spec: str) -> int:\n        return parse_duration(spec)\n"
    ),
    "cli.py": "from timeparse import parse_duration\n\n\ndef main() -> None:\n    parse_duration('1h')\n",
    "colours.py": "def blend(red: int, blue: int) -> int:\n    return red + blue\n",
    "web/app.js": "export function renderInvoice(total) { return `<b>${total}</b>`; }\nclass Basket { add(x) {} }\n",
}


def _repo(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        path = tmp_path / "repo" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path / "repo"


def test_the_map_lists_python_and_tree_sitter_symbols_with_signatures(tmp_path: Path) -> None:
    repo = RepoMap(_repo(tmp_path))
    text = repo.render(repo.rank(""), 4096)
    assert "timeparse.py:\n  1: def parse_duration(text: str) -> int" in text
    assert "class Scheduler" in text and "def every(self, spec: str) -> int" in text
    assert "web/app.js:" in text and "renderInvoice" in text and "Basket" in text


def test_the_file_the_task_names_ranks_first_and_what_it_uses_comes_before_unrelated_files(
    tmp_path: Path,
) -> None:
    repo = RepoMap(_repo(tmp_path))
    assert repo.rank("parse_duration rejects 1h30m; fix it")[0].summary.path == "timeparse.py"
    order = [r.summary.path for r in repo.rank("Scheduler.every misreads its spec")]
    assert order[0] == "jobs.py"
    assert order.index("timeparse.py") < order.index("colours.py")  # jobs.py calls parse_duration
    referenced = [r.summary.path for r in repo.rank("")]  # no task words: the most used file wins
    assert referenced[0] == "timeparse.py"


def test_the_hybrid_text_ranking_finds_a_file_from_words_of_its_outline(tmp_path: Path) -> None:
    repo = RepoMap(_repo(tmp_path), embedder=HashingEmbedder())
    files = repo.summaries()
    boosts = text_boosts("the invoice total renders wrong", files, HashingEmbedder())
    assert max(boosts, key=boosts.__getitem__) == "web/app.js"
    assert repo.rank("the invoice total renders wrong")[0].summary.path == "web/app.js"
    assert text_boosts("   ", files, None) == {}


@settings(max_examples=25, deadline=None)
@given(budget=st.integers(min_value=16, max_value=400))
def test_the_rendered_map_keeps_to_its_budget(tmp_path_factory: object, budget: int) -> None:
    root = Path(str(tmp_path_factory.mktemp("budget")))  # type: ignore[attr-defined]
    repo = RepoMap(_repo(root))
    text = repo.render(repo.rank("parse"), budget)
    assert text and estimate_tokens(text) <= budget + 1


def test_summaries_are_cached_by_content_hash_and_survive_on_disk(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    cache = SummaryCache(tmp_path / "cache")
    RepoMap(root, cache).summaries()
    assert (cache.hits, cache.misses) == (0, len(FILES))
    (root / "colours.py").write_text("def blend(red: int, green: int) -> int:\n    return red + green\n")
    again = RepoMap(root, cache).summaries()
    assert (cache.hits, cache.misses) == (len(FILES) - 1, len(FILES) + 1)
    assert any("green" in s.signature for f in again for s in f.symbols)
    fresh = SummaryCache(tmp_path / "cache")  # another process: read from disk, nothing parsed
    RepoMap(root, fresh).summaries()
    assert (fresh.hits, fresh.misses) == (len(FILES), 0)
