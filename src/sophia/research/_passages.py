"""Passages: spans of a document's text with ids that only depend on what they hold, and quote matching.

A passage's text is an exact slice of its document's text, so a quote found in a passage is found in the page as
it was read. The id is a hash of the URL, the offset and the text: the same page read again gives the same ids,
which is what lets a resumed run keep its citations.
"""

from __future__ import annotations

import hashlib
import re

from sophia.research._model import Document, Passage

__all__ = ["contains_quote", "normalise", "passage_id", "split_passages", "split_sentences"]

_LINE = re.compile(r"[^\n]+")
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])|\n+")


def normalise(text: str) -> str:
    """Whitespace collapsed and unicode quotes made plain, the form quotes are compared in."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return _SPACE.sub(" ", text).strip()


def contains_quote(passage_text: str, quote: str) -> bool:
    wanted = normalise(quote)
    return bool(wanted) and wanted in normalise(passage_text)


def passage_id(url: str, start: int, text: str) -> str:
    digest = hashlib.blake2b(f"{url}\n{start}\n{text}".encode(), digest_size=8).hexdigest()
    return f"p{digest}"


def split_passages(document: Document, max_chars: int = 800) -> list[Passage]:
    """Consecutive lines grouped up to `max_chars`; a longer line is cut at sentence ends."""
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(document.text):
        if line.end() - line.start() <= max_chars:
            spans.append((line.start(), line.end()))
            continue
        for start, end in _sentence_spans(document.text, line.start(), line.end()):
            spans.append((start, end))
    passages: list[Passage] = []
    start = end = -1
    for span_start, span_end in spans:
        if start >= 0 and span_end - start > max_chars:
            passages.append(_passage(document, start, end))
            start = -1
        if start < 0:
            start = span_start
        end = span_end
    if start >= 0:
        passages.append(_passage(document, start, end))
    return [p for p in passages if p.text]


def _passage(document: Document, start: int, end: int) -> Passage:
    raw = document.text[start:end]
    stripped = raw.strip()
    start += len(raw) - len(raw.lstrip())
    return Passage(
        id=passage_id(document.url, start, stripped),
        url=document.url,
        title=document.title,
        text=stripped,
        start=start,
        source=document.source,
    )


def _sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside text[start:end]: a boundary is end punctuation, space, then a capital or digit
    (so `vm.overcommit_memory` and `3.11` stay whole), or a line break."""
    spans, begin = [], start
    for boundary in _SENTENCE_END.finditer(text, start, end):
        if text[begin : boundary.start()].strip():
            spans.append((begin, boundary.start()))
        begin = boundary.end()
    if text[begin:end].strip():
        spans.append((begin, end))
    return spans


def split_sentences(text: str) -> list[str]:
    """Sentences as exact substrings of `text` (stripped), for extractive claims."""
    return [text[a:b].strip() for a, b in _sentence_spans(text, 0, len(text)) if len(text[a:b].strip()) > 1]
