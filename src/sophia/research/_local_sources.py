"""Sources on this machine: a folder of documents (Markdown, HTML, PDF, text) and Sophia's own memory.

The folder is read once per source (then again when a file changes); its files are ranked with memory's hybrid
ranking, keyword side only, and a document is only ever read from inside the folder (symlinks resolved).
"""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import trafilatura

from sophia.errors import ConfigError, NotFound
from sophia.memory import MemoryKind, MemoryService, rank_texts
from sophia.research._errors import SourceFailed
from sophia.research._model import Document, SearchResult

__all__ = ["LocalFolderSource", "MemorySource"]

_SUFFIXES = {".md", ".markdown", ".txt", ".rst", ".html", ".htm", ".pdf"}
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>|^#\s+(.+)$", re.IGNORECASE | re.DOTALL | re.MULTILINE)
_MAX_FILES = 5000
_MAX_BYTES = 20_000_000


def _read_file(path: Path) -> tuple[str, str]:
    """(title, text) of one file; HTML through trafilatura like web pages, PDF through pypdf."""
    suffix = path.suffix.lower()
    data = path.read_bytes()[:_MAX_BYTES]
    if suffix == ".pdf":
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        text = "\n\n".join((page.extract_text() or "").strip() for page in reader.pages)
        return path.stem, text
    raw = data.decode("utf-8", errors="replace")
    match = _TITLE.search(raw[:20000])
    title = " ".join((match.group(1) or match.group(2)).split()) if match else path.stem
    if suffix in (".html", ".htm"):
        return title, trafilatura.extract(raw, include_comments=False) or trafilatura.html2txt(raw) or ""
    return title, raw


class LocalFolderSource:
    name = "local"

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise ConfigError(f"research.source.local.path: {str(root)[:200]!r} is not a directory")
        self.root = root.resolve()
        self._docs: dict[Path, tuple[float, str, str]] = {}

    def _scan(self) -> list[tuple[Path, str, str]]:
        found = []
        for path in sorted(self.root.rglob("*"))[: _MAX_FILES * 4]:
            if path.suffix.lower() not in _SUFFIXES or not path.is_file():
                continue
            mtime = path.stat().st_mtime
            cached = self._docs.get(path)
            if cached is None or cached[0] != mtime:
                try:
                    title, text = _read_file(path)
                except Exception:  # noqa: BLE001 - one unreadable file must not hide the folder
                    continue
                cached = self._docs[path] = (mtime, title, text)
            found.append((path, cached[1], cached[2]))
            if len(found) >= _MAX_FILES:
                break
        return found

    async def search(self, query: str, k: int) -> list[SearchResult]:
        docs = await asyncio.to_thread(self._scan)
        ranked = await asyncio.to_thread(
            rank_texts, query, [f"{title}\n{text}" for _, title, text in docs], embedder=None, pool=k
        )
        return [
            SearchResult(
                docs[i][0].as_uri(), docs[i][1], " ".join(docs[i][2][:300].split()), self.name, score
            )
            for i, score in ranked[:k]
        ]

    async def fetch(self, url: str) -> Document:
        if not url.startswith("file://"):
            raise SourceFailed(
                f"the local folder only reads file:// URLs, not {url[:200]!r}", source=self.name
            )
        from urllib.parse import unquote, urlparse

        path = Path(unquote(urlparse(url).path)).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise SourceFailed(f"{url[:200]} is not a document of the research folder", source=self.name)
        title, text = await asyncio.to_thread(_read_file, path)
        return Document(url, title, text, self.name, "text/plain")


class MemorySource:
    """Research findings remembered earlier (kind `research`), recalled before any engine is asked again.

    A finding keeps its page's URL as `source`, so a citation from memory still points at the page it was read on.
    """

    name = "memory"

    def __init__(self, memory: MemoryService, namespaces: list[str]) -> None:
        self.memory = memory
        self.namespaces = namespaces
        self._found: dict[str, Document] = {}

    async def search(self, query: str, k: int) -> list[SearchResult]:
        hits = await self.memory.recall(query, self.namespaces, kinds=[MemoryKind.RESEARCH], k=k)
        results = []
        for hit in hits:
            memory = hit.memory
            url = memory.source if memory.source and memory.source.startswith(("http", "file:")) else None
            url = url or f"memory:{memory.id}"
            title = str(memory.metadata.get("title") or url)
            key = f"{url}#memory-{memory.id}" if not url.startswith("memory:") else url
            self._found[key] = Document(key, title, memory.content, self.name, "text/plain")
            results.append(SearchResult(key, title, memory.content[:300], self.name, hit.score))
        return results

    async def fetch(self, url: str) -> Document:
        found = self._found.get(url)
        if found is None:
            memory_id = url.rsplit("memory-", 1)[-1] if "#memory-" in url else url.removeprefix("memory:")
            try:
                memory = await self.memory.get(memory_id, namespaces=self.namespaces)
            except NotFound:
                raise SourceFailed(f"no research memory behind {url[:200]}", source=self.name) from None
            found = Document(url, str(memory.metadata.get("title") or url), memory.content, self.name)
        return found
