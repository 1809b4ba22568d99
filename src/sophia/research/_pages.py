"""Reading a page for research: the `web.fetch` fetcher itself (same SSRF guard at every redirect), as a Document.

PDFs are turned into text by the fetcher too, so a paper found on arXiv is read like any page.
"""

from __future__ import annotations

from sophia.research._errors import SourceFailed
from sophia.research._model import Document
from sophia.tools import FetchError, WebFetcher

__all__ = ["PageReader"]


class PageReader:
    """Fetches pages through one `WebFetcher`; counts what it read so a benchmark can check no citation is
    outside it."""

    def __init__(self, fetcher: WebFetcher | None = None) -> None:
        self.fetcher = fetcher or WebFetcher()
        self.fetched: dict[str, Document] = {}

    async def read(self, url: str, *, source: str) -> Document:
        try:
            page = await self.fetcher.fetch(url)
        except FetchError as error:  # FetchRefused is a FetchError: a private address is never read
            raise SourceFailed(error.message, source=source) from None
        status = int(page.get("status") or 0)
        if status >= 400:
            raise SourceFailed(f"{url[:200]} answered HTTP {status}", source=source, status=status)
        document = Document(
            url=url,
            title=str(page.get("title") or url),
            text=str(page.get("text") or ""),
            source=source,
            content_type=page.get("content_type"),
        )
        self.fetched[url] = document
        return document
