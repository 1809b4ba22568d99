"""Edits a model proposes as search/replace blocks: parsed, matched exactly, then whitespace-tolerantly, or refused.

A refusal is an `EditRefused` whose message is written for the model: what did not match, and the closest
lines the file really has, so its next attempt can quote them.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from sophia.errors import InvalidInput

__all__ = [
    "EditBlock",
    "EditRefused",
    "apply_block",
    "check_edit_path",
    "parse_blocks",
]

_SEARCH = re.compile(r"^\s*<{5,9} ?SEARCH\s*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9} ?REPLACE\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


class EditRefused(InvalidInput):
    """An edit that cannot be applied as given; the message tells the model how to fix it."""

    code = "edit_refused"


@dataclass(frozen=True, slots=True)
class EditBlock:
    path: str
    search: str
    replace: str


def check_edit_path(path: str) -> str:
    """A clean relative POSIX path inside the repository; anything else is refused before a file is touched."""
    cleaned = path.strip().strip("`*'\"").rstrip(":").strip()
    if not cleaned or "\x00" in cleaned:
        raise EditRefused("an edit names no file; put the file's path on the line before <<<<<<< SEARCH")
    pure = PurePosixPath(cleaned.replace("\\", "/"))
    if pure.is_absolute() or cleaned.startswith("~"):
        raise EditRefused(f"{cleaned[:200]!r} is outside the repository; give a path relative to its root")
    if ".." in pure.parts:
        raise EditRefused(f"{cleaned[:200]!r} leaves the repository through '..'; refused")
    if pure.parts and pure.parts[0] == ".git":
        raise EditRefused(f"{cleaned[:200]!r} is inside .git; edit the repository's files, not git's")
    return pure.as_posix()


def _path_before(lines: list[str], index: int) -> str:
    for back in range(index - 1, max(index - 4, -1), -1):
        line = lines[back].strip()
        if not line or _FENCE.match(line):
            continue
        return line
    return ""


def parse_blocks(text: str) -> list[EditBlock]:
    """Every SEARCH/REPLACE block in `text`; a block left open is refused rather than half-applied."""
    lines = text.splitlines()
    blocks: list[EditBlock] = []
    i = 0
    while i < len(lines):
        if not _SEARCH.match(lines[i]):
            i += 1
            continue
        path = check_edit_path(_path_before(lines, i))
        j = i + 1
        while j < len(lines) and not _DIVIDER.match(lines[j]):
            j += 1
        k = j + 1
        while k < len(lines) and not _REPLACE.match(lines[k]):
            k += 1
        if k >= len(lines):
            raise EditRefused(
                f"the edit of {path} is not closed: each block needs <<<<<<< SEARCH, =======, >>>>>>> REPLACE"
            )
        search = "\n".join(lines[i + 1 : j])
        replace = "\n".join(lines[j + 1 : k])
        blocks.append(EditBlock(path, search + "\n" if search else "", replace + "\n" if replace else ""))
        i = k + 1
    return blocks


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _loose_windows(file_lines: list[str], search_lines: list[str]) -> list[int]:
    wanted = [line.strip() for line in search_lines]
    size = len(wanted)
    return [
        start
        for start in range(len(file_lines) - size + 1)
        if all(file_lines[start + n].strip() == wanted[n] for n in range(size))
    ]


def _reindent(replace_lines: list[str], search_lines: list[str], found_lines: list[str]) -> list[str]:
    """Shift the replacement by the indentation difference between what was searched and what was found."""
    pairs = [(s, f) for s, f in zip(search_lines, found_lines, strict=True) if s.strip()]
    if not pairs:
        return replace_lines
    searched, found = _indent(pairs[0][0]), _indent(pairs[0][1])
    out: list[str] = []
    for line in replace_lines:
        if not line.strip():
            out.append(line.strip(" \t"))
        elif line.startswith(searched):
            out.append(found + line[len(searched) :])
        else:
            out.append(found + line.lstrip())
    return out


def _closest(file_lines: list[str], search_lines: list[str]) -> str:
    size = max(1, len(search_lines))
    wanted = "".join(line.strip() for line in search_lines)
    best, best_ratio = 0, 0.0
    for start in range(max(1, len(file_lines) - size + 1)):
        window = "".join(line.strip() for line in file_lines[start : start + size])
        ratio = difflib.SequenceMatcher(None, wanted, window, autojunk=False).quick_ratio()
        if ratio > best_ratio:
            best, best_ratio = start, ratio
    snippet = "".join(file_lines[best : best + size])
    return snippet[:1500]


def _apply_to_missing_or_empty(content: str | None, block: EditBlock) -> str:
    if content is None:
        if block.search.strip():
            raise EditRefused(f"{block.path} does not exist; to create it, leave the SEARCH part empty")
        return block.replace
    if not content.strip():
        return block.replace
    raise EditRefused(
        f"the SEARCH part for {block.path} is empty but the file exists; quote the lines to change"
    )


def _apply_loose(content: str, block: EditBlock) -> str:
    file_lines = content.splitlines(keepends=True)
    search_lines = block.search.splitlines(keepends=True)
    while search_lines and not search_lines[0].strip():
        search_lines.pop(0)
    while search_lines and not search_lines[-1].strip():
        search_lines.pop()
    starts = _loose_windows(file_lines, search_lines)
    if len(starts) > 1:
        raise EditRefused(
            f"the SEARCH text matches {len(starts)} places in {block.path} (ignoring indentation); "
            "include more surrounding lines so it matches exactly once"
        )
    if not starts:
        raise EditRefused(
            f"the SEARCH text was not found in {block.path}, not even ignoring whitespace. The closest lines "
            f"the file has are:\n{_closest(file_lines, search_lines)}\nQuote the file's lines exactly."
        )
    start = starts[0]
    found = file_lines[start : start + len(search_lines)]
    replacement = _reindent(block.replace.splitlines(keepends=True), search_lines, found)
    if replacement and found[-1].endswith("\n") and not replacement[-1].endswith("\n"):
        replacement[-1] += "\n"
    return "".join(file_lines[:start] + replacement + file_lines[start + len(found) :])


def _aligned(content: str, search: str) -> list[int]:
    """Where `search` occurs starting at a line's start (a match inside a line is no exact match)."""
    found: list[int] = []
    at = content.find(search)
    while at >= 0:
        if at == 0 or content[at - 1] == "\n":
            found.append(at)
        at = content.find(search, at + 1)
    return found


def apply_block(content: str | None, block: EditBlock) -> str:
    """The file's new content after `block`; `content` is None for a file that does not exist yet."""
    if content is None or not block.search.strip():
        return _apply_to_missing_or_empty(content, block)
    positions = _aligned(content, block.search)
    exact = len(positions)
    if exact == 1:
        at = positions[0]
        return content[:at] + block.replace + content[at + len(block.search) :]
    if exact > 1:
        raise EditRefused(
            f"the SEARCH text occurs {exact} times in {block.path}; include more surrounding lines "
            "so it matches exactly once"
        )
    try:
        return _apply_loose(content, block)
    except EditRefused:
        if block.replace.strip() and len(_aligned(content, block.replace)) == 1:
            return content  # the same edit sent again after it was applied: nothing left to change
        raise
