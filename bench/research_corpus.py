"""The offline web of the research benchmark and tests: documentation pages under their canonical URLs.

`CorpusIndex` maps pages under the Debian doc packages' HTML roots (or a fixture folder laid out the same way) to
canonical URLs and indexes them with SQLite FTS5. `CorpusService` serves it on 127.0.0.1: `GET /search?q=…&
format=json` answers in SearXNG's JSON shape, and every page is served at its canonical URL (the request's Host
header and path), so Sophia's real SearXNG source and real fetcher run unchanged. `CorpusTransport` is the fetch
hook: an httpx transport that delivers the fetcher's requests for canonical hosts to the service.
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

# Package HTML root (relative to the file-system root) -> canonical base URL; git drops the .html suffix.
ROOTS: tuple[tuple[str, str, bool], ...] = (
    ("usr/share/doc/python3.11/html/", "https://docs.python.org/3.11/", False),
    ("usr/share/doc/postgresql-doc-15/html/", "https://www.postgresql.org/docs/15/", False),
    ("usr/share/doc/sqlite3/", "https://sqlite.org/", False),
    ("usr/share/doc/linux-doc-6.1/html/", "https://www.kernel.org/doc/html/v6.1/", False),
    ("usr/share/doc/git-doc/", "https://git-scm.com/docs/", True),
)
HOSTS = frozenset(urlsplit(base).hostname or "" for _, base, _ in ROOTS)
_SKIP_NAMES = re.compile(r"(^|/)(genindex|search|index|py-modindex|bookindex|sitemap)[^/]*\.html$|(^|/)_")
_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S | re.I)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.S | re.I)
_WORDS = re.compile(r"\w+")
PUBLIC_ADDRESS = "93.184.216.34"  # what the hook's resolver answers; the transport never connects to it


def page_text(raw: str) -> str:
    return " ".join(html.unescape(_TAGS.sub(" ", raw)).split())


@dataclass(frozen=True)
class Page:
    url: str
    path: Path
    title: str


def canonical_pages(base: Path) -> Iterator[Page]:
    """Every page worth indexing under `base` (a file-system root holding usr/share/doc/...)."""
    for root, url, drop_suffix in ROOTS:
        folder = base / root
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.html")):
            relative = path.relative_to(folder).as_posix()
            if _SKIP_NAMES.search(relative) or "/_static/" in f"/{relative}":
                continue
            raw = path.read_text("utf-8", errors="replace")
            if len(_WORDS.findall(page_text(raw))) < 50:
                continue
            title_match = _TITLE.search(raw)
            title = " ".join(html.unescape(title_match.group(1)).split()) if title_match else relative
            target = relative[: -len(".html")] if drop_suffix else relative
            yield Page(url + target, path, title)


class CorpusIndex:
    """FTS5 over the pages' visible text (porter stemming), kept in a file so the benchmark builds it once."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self._local = threading.local()

    @classmethod
    def build(cls, base: Path, database: Path) -> CorpusIndex:
        if not database.exists():
            tmp = database.with_suffix(".tmp")
            tmp.unlink(missing_ok=True)
            with sqlite3.connect(tmp) as db:
                db.execute("CREATE TABLE pages (url TEXT PRIMARY KEY, path TEXT, title TEXT)")
                db.execute("CREATE VIRTUAL TABLE fts USING fts5(title, body, tokenize='porter unicode61')")
                for page in canonical_pages(base):
                    text = page_text(page.path.read_text("utf-8", errors="replace"))
                    cursor = db.execute(
                        "INSERT OR IGNORE INTO pages VALUES (?, ?, ?)", (page.url, str(page.path), page.title)
                    )
                    if cursor.rowcount:
                        db.execute(
                            "INSERT INTO fts(rowid, title, body) VALUES (?, ?, ?)",
                            (cursor.lastrowid, page.title, text),
                        )
            tmp.rename(database)
        return cls(database)

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = sqlite3.connect(self.database)
        return db

    def count(self) -> int:
        return int(self._db().execute("SELECT count(*) FROM pages").fetchone()[0])

    def search(self, query: str, k: int = 10) -> list[tuple[str, str, str, float]]:
        """(url, title, snippet, score), best first: an OR of the query's words, ranked by BM25."""
        words = [w for w in _WORDS.findall(query.lower()) if len(w) > 1]
        if not words:
            return []
        match = " OR ".join('"' + w.replace('"', "") + '"' for w in words)
        rows = (
            self._db()
            .execute(
                "SELECT p.url, p.title, snippet(fts, 1, '', '', '…', 24), bm25(fts, 5.0, 1.0) FROM fts "
                "JOIN pages p ON p.rowid = fts.rowid WHERE fts MATCH ? ORDER BY bm25(fts, 5.0, 1.0) LIMIT ?",
                (match, k),
            )
            .fetchall()
        )
        return [(r[0], r[1], r[2], -float(r[3])) for r in rows]

    def page(self, url: str) -> Path | None:
        row = self._db().execute("SELECT path FROM pages WHERE url = ?", (url,)).fetchone()
        return Path(row[0]) if row else None


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up mid-answer (a fetch that timed out) is not the service's error."""


class CorpusService:
    """The SearXNG-compatible search service and page server, on 127.0.0.1 in a thread.

    With `local_urls`, results point at `http://127.0.0.1:PORT/<host>/<path>` instead of the canonical URL, for a
    Sophia in another process (which cannot be given the fetch hook; it is allowed the service's host instead).
    """

    def __init__(self, index: CorpusIndex, *, local_urls: bool = False) -> None:
        self.index = index
        self.local_urls = local_urls
        self.searches = 0
        self.pages_served = 0
        self.page_requests: Counter[str] = Counter()
        """Requests per canonical URL, counted on arrival (a test counts fetches here)."""
        self._holds: dict[str, threading.Event] = {}
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return None

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                service._answer(self)

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> CorpusService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def hold(self, url: str) -> threading.Event:
        """Requests for `url` (canonical) wait until the returned event is set: a page that hangs mid-run."""
        self._holds[url] = threading.Event()
        return self._holds[url]

    def shown_url(self, url: str) -> str:
        if not self.local_urls:
            return url
        parts = urlsplit(url)
        return f"{self.base_url}/{parts.hostname}{parts.path}"

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        host = (request.headers.get("Host") or "").split(":")[0]
        if host in HOSTS:
            return self._page(request, f"https://{host}{parts.path}")
        first, _, rest = parts.path.lstrip("/").partition("/")
        if first in HOSTS:
            return self._page(request, f"https://{first}/{rest}")
        if parts.path == "/search":
            return self._search(request, parse_qs(parts.query))
        self._send(request, 404, "text/plain", b"not found")

    def _search(self, request: BaseHTTPRequestHandler, query: dict[str, list[str]]) -> None:
        if query.get("format") != ["json"]:
            return self._send(request, 403, "text/plain", b"format must be json")
        q = (query.get("q") or [""])[0]
        self.searches += 1
        hits = self.index.search(q, 10)
        body = {
            "query": q,
            "number_of_results": len(hits),
            "results": [
                {
                    "url": self.shown_url(url),
                    "title": title,
                    "content": snippet,
                    "engine": "corpus",
                    "engines": ["corpus"],
                    "score": score,
                    "category": "general",
                    "positions": [n + 1],
                }
                for n, (url, title, snippet, score) in enumerate(hits)
            ],
            "answers": [],
            "corrections": [],
            "infoboxes": [],
            "suggestions": [],
            "unresponsive_engines": [],
        }
        self._send(request, 200, "application/json", json.dumps(body).encode())

    def _page(self, request: BaseHTTPRequestHandler, url: str) -> None:
        self.page_requests[url] += 1
        path = self.index.page(url)
        if path is None:
            return self._send(request, 404, "text/html", b"<html><title>404</title>no such page</html>")
        held = self._holds.get(url)
        if held is not None:
            held.wait(300)
        self.pages_served += 1
        self._send(request, 200, "text/html; charset=utf-8", path.read_bytes())

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, content_type: str, body: bytes) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


class CorpusTransport(httpx.AsyncBaseTransport):
    """The fetch hook: a request the fetcher pinned to a canonical host's address goes to the service instead."""

    def __init__(self, service: CorpusService) -> None:
        self.service = service
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.service.port)
        forwarded = httpx.Request(request.method, url, headers=request.headers, content=request.content)
        return await self._inner.handle_async_request(forwarded)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def corpus_resolver(host: str, port: int) -> list[str]:
    """Canonical hosts resolve to one public address (checked by the SSRF guard like any other); others fail."""
    if host in HOSTS:
        return [PUBLIC_ADDRESS]
    raise OSError(f"{host} is not in the offline corpus")
